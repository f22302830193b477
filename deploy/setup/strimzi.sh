#!/usr/bin/env bash
# Strimzi's CustomResourceDefinitions for `make k8s-check` (the API server must know Kafka,
# KafkaNodePool and KafkaTopic before it can dry-run them). Strimzi is not a Go module, and no
# registry here carries its install YAML; Maven Central carries its API model (io.strimzi:api) and
# the generator Strimzi's build makes its CRDs with (io.strimzi:crd-generator), so the CRDs are
# generated here as Strimzi's build does (apiextensions v1, served and stored as v1beta2).
# Result: $CACHE_DIR/strimzi-crds-$STRIMZI_VERSION/{kafka,kafkanodepool,kafkatopic}.yaml
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

entry="$CACHE_DIR/strimzi-crds-$STRIMZI_VERSION"
log="$LOG_DIR/strimzi-crds.log"
kinds=(kafka kafkanodepool kafkatopic)
complete() { for k in "${kinds[@]}"; do [[ -s "$entry/$k.yaml" ]] || return 1; done; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v java >/dev/null || fail strimzi-crds "$log" "Java 17+ is required (apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || fail strimzi-crds "$log" "Maven is required (apt-get install maven)"
: >"$log"
partial="$entry.partial"
rm -rf "$partial" && mkdir -p "$partial/libs"

say "strimzi-crds: fetching io.strimzi:api $STRIMZI_VERSION and crd-generator $STRIMZI_CRDGEN_VERSION with Maven (log: $log)"
with_progress strimzi-crds "$log" mvn -B -f "$here/maven/strimzi/pom.xml" \
    -Dstrimzi.version="$STRIMZI_VERSION" -Dstrimzi.crdgen.version="$STRIMZI_CRDGEN_VERSION" \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$partial/libs" \
  || fail strimzi-crds "$log" "Maven could not fetch io.strimzi:api:$STRIMZI_VERSION / crd-generator"

model=io.strimzi.api.kafka.model
java -cp "$partial/libs/*" io.strimzi.crdgenerator.CrdGenerator \
    --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
    --crd-api-version v1 --api-versions v1beta2 --storage-version v1beta2 --yaml \
    "$model.kafka.Kafka=$partial/kafka.yaml" \
    "$model.nodepool.KafkaNodePool=$partial/kafkanodepool.yaml" \
    "$model.topic.KafkaTopic=$partial/kafkatopic.yaml" >>"$log" 2>&1 \
  || fail strimzi-crds "$log" "Strimzi's CRD generator failed"
rm -rf "$partial/libs"
for k in "${kinds[@]}"; do
  grep -q '^kind: CustomResourceDefinition' "$partial/$k.yaml" || fail strimzi-crds "$log" "$k.yaml is no CRD"
done
rm -rf "$entry" && mv "$partial" "$entry"
say "strimzi-crds: $STRIMZI_VERSION ready in $entry"
