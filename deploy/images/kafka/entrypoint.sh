#!/bin/bash
# Starts one Kafka node in KRaft mode, controller and broker both, configured by environment
# (README.md beside the Containerfile). Formats the storage on the first start only.
set -euo pipefail

die() { echo "kafka entrypoint: $*" >&2; exit 2; }

# A StatefulSet's pods are named <name>-<ordinal>: the ordinal is the node id.
ordinal() { [[ "$HOSTNAME" =~ -([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}"; }

node_id=${KAFKA_NODE_ID:-$(ordinal || echo 0)}
[[ "$node_id" =~ ^[0-9]+$ ]] || die "KAFKA_NODE_ID must be a number, not '$node_id'"
replicas=${KAFKA_REPLICAS:-1}
[[ "$replicas" =~ ^[1-9][0-9]*$ ]] || die "KAFKA_REPLICAS must be a positive number, not '$replicas'"
service=${KAFKA_HEADLESS_SERVICE:-}
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}
internal_port=${KAFKA_INTERNAL_PORT:-9091}

# Every node of the cluster a voter: <id>@<pod>.<headless service>:<controller port> for ids
# 0..replicas-1.
default_voters() {
  if [[ -z "$service" ]]; then
    ((replicas == 1)) || die "KAFKA_REPLICAS=$replicas needs KAFKA_HEADLESS_SERVICE (or KAFKA_CONTROLLER_QUORUM_VOTERS)"
    echo "$node_id@localhost:$controller_port"
    return
  fi
  local prefix=${HOSTNAME%-*} i voters=()
  [[ -n "$(ordinal || true)" ]] || die "the host name '$HOSTNAME' has no -<ordinal>: set KAFKA_CONTROLLER_QUORUM_VOTERS"
  for ((i = 0; i < replicas; i++)); do voters+=("$i@$prefix-$i.$service:$controller_port"); done
  (IFS=,; echo "${voters[*]}")
}
voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:-$(default_voters)}
[[ ",$voters" == *",$node_id@"* ]] || die "node $node_id is not among the voters $voters"
voter_count=$(tr ',' '\n' <<<"$voters" | grep -c .)

# The same id on every node without any coordination: derived from the voters. Kafka's form:
# 16 bytes in URL-safe base64 without padding, never starting with "-" (read as an option).
derived_cluster_id() {
  local hex id
  hex=$(printf 'order-platform-kafka:%s' "$voters" | sha256sum | cut -c1-32)
  id=$(printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" | base64 | tr '+/' '-_' | tr -d '=')
  echo "${id/#-/A}"
}
cluster_id=${KAFKA_CLUSTER_ID:-$(derived_cluster_id)}

factor=${KAFKA_REPLICATION_FACTOR:-$((voter_count < 3 ? voter_count : 3))}
min_isr_default=$((factor - 1 < 1 ? 1 : (factor - 1 > 2 ? 2 : factor - 1)))
min_isr=${KAFKA_MIN_INSYNC_REPLICAS:-$min_isr_default}
# Clients are told KAFKA_ADVERTISED_HOST:PORT (e.g. a published port); brokers replicate over
# the internal listener, at the node's own name.
internal_host=${KAFKA_INTERNAL_HOST:-$HOSTNAME${service:+.$service}}
advertised_host=${KAFKA_ADVERTISED_HOST:-$internal_host}
advertised_port=${KAFKA_ADVERTISED_PORT:-$port}
log_dirs=${KAFKA_LOG_DIRS:-/var/lib/kafka/data/kafka-log}
config=${KAFKA_CONFIG_FILE:-/tmp/kafka/server.properties}

# KAFKA_CFG_LOG_RETENTION_HOURS=24 -> log.retention.hours=24 (after the settings above: wins).
extra_properties() {
  local name
  while IFS= read -r name; do
    local key=${name#KAFKA_CFG_}
    key=${key,,}
    printf '%s=%s\n' "${key//_/.}" "${!name}"
  done < <(compgen -e | grep '^KAFKA_CFG_' || true)
}

mkdir -p "$(dirname "$config")"
cat >"$config" <<EOF
# Written by the image's entrypoint.sh from the environment at start.
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
listeners=PLAINTEXT://:$port,INTERNAL://:$internal_port,CONTROLLER://:$controller_port
advertised.listeners=PLAINTEXT://$advertised_host:$advertised_port,INTERNAL://$internal_host:$internal_port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
log.dirs=$log_dirs
num.partitions=${KAFKA_NUM_PARTITIONS:-6}
auto.create.topics.enable=${KAFKA_AUTO_CREATE_TOPICS:-true}
default.replication.factor=$factor
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$factor
transaction.state.log.replication.factor=$factor
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$factor
share.coordinator.state.topic.min.isr=$min_isr
# 128 MiB of heap by default, for compacted topics; the offsets topic needs a few MiB.
log.cleaner.dedupe.buffer.size=16777216
$(extra_properties)
EOF
echo "kafka entrypoint: node $node_id of voters $voters, cluster $cluster_id, config $config:" >&2
grep -v '^#' "$config" | sed 's/^/    /' >&2

java_cp=("-cp" "$KAFKA_HOME/libs/*")
# The storage tool writes meta.properties last: without it the directory is not formatted.
if [[ ! -f "$log_dirs/meta.properties" ]]; then
  echo "kafka entrypoint: formatting $log_dirs (first start)" >&2
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_HOME/config/tools-log4j2.properties" "${java_cp[@]}" \
    kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$config" --ignore-formatted
fi

# shellcheck disable=SC2086 # the options are lists of words
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx256m} \
  ${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+AlwaysPreTouch -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true} \
  -Dlog4j2.configurationFile="$KAFKA_HOME/config/log4j2.properties" "${java_cp[@]}" \
  kafka.Kafka "$config"
