#!/usr/bin/env bash
# Fetches Apache Kafka (broker + tools jars) from Maven, since the binary tarball is not on any
# registry this machine reaches. Result: $CACHE_DIR/kafka-$KAFKA_VERSION/
#   libs/*                  runtime closure of kafka_2.13 and kafka-tools (maven/kafka/pom.xml)
#   config/log4j2.properties  console logging; the stack runner sends stdout to the service log
# Start with: java -cp 'libs/*' -Dlog4j2.configurationFile=config/log4j2.properties kafka.Kafka
# server.properties; format storage with kafka.tools.StorageTool (what kafka-storage.sh runs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

entry="$CACHE_DIR/kafka-$KAFKA_VERSION"
log="$LOG_DIR/kafka-setup.log"
complete() { [[ -f "$entry/libs/kafka_2.13-$KAFKA_VERSION.jar" && -f "$entry/config/log4j2.properties" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v java >/dev/null || fail kafka "$log" "Java 17+ is required (apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || fail kafka "$log" "Maven is required to fetch Kafka (apt-get install maven)"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/libs" "$partial/config"

say "kafka: fetching kafka_2.13 $KAFKA_VERSION and its dependencies with Maven (log: $log)"
with_progress kafka "$log" mvn -B -f "$here/maven/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$partial/libs" \
  || fail kafka "$log" "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"

cat >"$partial/config/log4j2.properties" <<'EOF'
# Written by deploy/setup/kafka.sh: everything to stdout, which the stack runner writes to the log.
status = warn
# Kafka logs its own shutdown from a JVM shutdown hook: log4j must not stop before it.
shutdownHook = disable
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF

# Smoke test: the storage tool loads the broker's classes and prints a cluster id.
java -cp "$partial/libs/*" kafka.tools.StorageTool random-uuid >>"$log" 2>&1 \
  || fail kafka "$log" "the fetched jars do not run (kafka.tools.StorageTool random-uuid failed)"
rm -rf "$entry" && mv "$partial" "$entry"
say "kafka: $KAFKA_VERSION ready in $entry"
