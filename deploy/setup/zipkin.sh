#!/usr/bin/env bash
# Fetches the Zipkin server (self-contained executable jar) from Maven.
# Result: $CACHE_DIR/zipkin-$ZIPKIN_VERSION/zipkin.jar, run with `java -jar zipkin.jar`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/zipkin-$ZIPKIN_VERSION"
log="$LOG_DIR/zipkin-setup.log"
complete() { [[ -f "$entry/zipkin.jar" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v java >/dev/null || fail zipkin "$log" "Java 17+ is required (apt-get install openjdk-17-jre-headless)"
command -v mvn >/dev/null || fail zipkin "$log" "Maven is required to fetch Zipkin (apt-get install maven)"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial"

say "zipkin: fetching io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec with Maven (log: $log)"
with_progress zipkin "$log" mvn -B \
    "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy" \
    -Dartifact="io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" -DoutputDirectory="$partial" \
  || fail zipkin "$log" "Maven could not fetch io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec"
mv "$partial/zipkin-server-$ZIPKIN_VERSION-exec.jar" "$partial/zipkin.jar"
python3 -m zipfile -t "$partial/zipkin.jar" >>"$log" 2>&1 || fail zipkin "$log" "the fetched zipkin.jar is corrupt"
rm -rf "$entry" && mv "$partial" "$entry"
say "zipkin: $ZIPKIN_VERSION ready in $entry"
