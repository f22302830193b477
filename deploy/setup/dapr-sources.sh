# The github.com/dapr/dapr sources every Dapr binary is built from (dapr.sh: daprd, placement,
# scheduler, sentry; dapr-k8s.sh: operator, injector), so the stack and the cluster run one build.
# Source it after lib.sh and versions.env; do not run it.
# Dapr 1.18.3 requires modules the Go module proxy refuses (403): dapr_sources swaps them for
# served ones (versions.env, docs/dapr-runtime.md). DAPR_BUILD_ID names the swaps; each entry
# records it in a build.txt and is built again when it differs.

DAPR_BUILD_ID="dapr=$DAPR_VERSION durabletask-go=$DAPR_DURABLETASK_GO"
DAPR_BUILD_ID+=" etcd-server=$DAPR_ETCD_SERVER pulsar=none"
# The start-up logs name the swap in their commit field: this build, not upstream's release.
DAPR_LDFLAGS="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
DAPR_LDFLAGS+=" -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=durabletask-go@$DAPR_DURABLETASK_GO"

# dapr_stamped FILE: FILE records this build (DAPR_BUILD_ID).
dapr_stamped() { [[ -f $1 && $(<"$1") == "$DAPR_BUILD_ID" ]]; }

# dapr_sources COMPONENT LOG DIR: a writable copy of the dapr module in DIR (so its own go.mod,
# go.sum and replace lines apply to the build), with the swaps applied. Build with -mod=mod: the
# patched go.mod needs go.sum lines for the swapped modules.
dapr_sources() {
  local component=$1 log=$2 dir=$3 src_json src_dir
  say "$component: fetching github.com/dapr/dapr@v$DAPR_VERSION sources (Go module proxy)"
  src_json=$(go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" 2>>"$log") \
    || fail "$component" "$log" "could not download github.com/dapr/dapr@v$DAPR_VERSION"
  src_dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$src_json")
  mkdir -p "$dir" && cp -r "$src_dir/." "$dir/" && chmod -R u+w "$dir"
  dapr_patch_sources "$component" "$log" "$dir"
}

# dapr_patch_sources COMPONENT LOG DIR: durabletask-go and the etcd server at the served versions
# of versions.env, and no Pulsar pub/sub (its fork and Avro library are refused; the project's
# pub/sub is Kafka).
dapr_patch_sources() {
  say "$1: durabletask-go $DAPR_DURABLETASK_GO, etcd server $DAPR_ETCD_SERVER, no Pulsar"
  (cd "$3" && go mod edit \
      -replace="github.com/dapr/durabletask-go=github.com/dapr/durabletask-go@$DAPR_DURABLETASK_GO" \
      -replace="go.etcd.io/etcd/server/v3=go.etcd.io/etcd/server/v3@$DAPR_ETCD_SERVER" \
      -dropreplace=github.com/apache/pulsar-client-go@v0.18.0 \
      -droprequire=github.com/iskorotkov/avro/v2 \
    && rm -f cmd/daprd/components/pubsub_pulsar.go cmd/daprd/components/pubsub_pulsar_test.go) \
    >>"$2" 2>&1 || fail "$1" "$2" "could not patch the dapr $DAPR_VERSION sources"
}
