{{/* Labels every object of the release carries. */}}
{{- define "op.labels" -}}
app.kubernetes.io/part-of: order-platform
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "name" "order-service") */}}
{{- define "op.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "op.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The containers' security context: no root, no privilege escalation, read-only root. */}}
{{- define "op.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* The six topics (contracts/catalog.py), for the KafkaTopics or the topic Job. */}}
{{- define "op.topics" -}}
reserve-stock release-stock stock-replies order-confirmed order-cancelled dead-letters
{{- end }}

{{/* app=url,... of every app but the public one, by its Service: the gateway's OPS_APP_URLS. */}}
{{- define "op.appUrls" -}}
{{- $urls := list -}}
{{- range $id, $app := .Values.apps -}}
{{- if not $app.public -}}
{{- $urls = append $urls (printf "%s=http://%s:%v" $id $id (dig "service" "port" $app.port $app)) -}}
{{- end -}}
{{- end -}}
{{- join "," $urls -}}
{{- end }}
