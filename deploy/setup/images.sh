#!/usr/bin/env bash
# `make images`: builds the project's images without Docker, with buildah, from the
# Containerfiles under deploy/images/ on the Debian base made here (debian-base.sh):
#   localhost/order-platform/app:<chart appVersion>   the five apps (python -m apps <app-id>)
#   localhost/order-platform/kafka:$KAFKA_VERSION      Kafka in KRaft mode
#   localhost/order-platform/postgres:$POSTGRES_MAJOR  PostgreSQL from Debian
#   localhost/order-platform/zipkin:$ZIPKIN_VERSION    the Zipkin server
# and saves each as a docker-archive in $CACHE_DIR/images/<name>-<tag>.tar (a containerd node
# imports it without a registry: ctr -n k8s.io images import <file>).
# An image is rebuilt only when its inputs change. The key: a hash of every file of its build
# context(s) (path and content), its build arguments and the base image's id; the image carries
# it as the label org.order-platform.inputs, and its archive beside it (<name>-<tag>.key).
# Usage: images.sh [name...]   (default: all four)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$CACHE_DIR/images"
registry=localhost/order-platform
key_label=org.order-platform.inputs
mkdir -p "$out"

bash "$here/containers.sh"
base=$(bash "$here/debian-base.sh")
bash "$here/kafka.sh"
bash "$here/zipkin.sh"
base_id=$(podman image inspect --format '{{.Id}}' "$base")
app_version=$(awk -F'"' '/^appVersion:/ {print $2}' "$root/deploy/k8s/order-platform/Chart.yaml")
[[ -n "$app_version" ]] || fail images "$LOG_DIR/images.log" "no appVersion in the chart's Chart.yaml"
source_url=$(git -C "$root" remote get-url origin 2>/dev/null || true)

# pip in the build trusts what this machine trusts (its HTTPS may pass a proxy with its own
# certificate authority): the host's bundle and a pip.conf naming it, mounted for RUN steps
# only, never in a layer, so the Containerfile stays as it would be elsewhere.
trust_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
printf '[global]\ncert = /etc/ssl/certs/host-trust.crt\n' >"$out/pip.conf"

# inputs_key PATH... -- ARG...: a hash of the files under the paths (relative names and
# contents, without Python's caches) and of the words after "--".
inputs_key() {
  local paths=()
  while (($#)) && [[ "$1" != -- ]]; do paths+=("$1"); shift; done
  shift
  {
    (cd "$root" && find "${paths[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | sort -z | xargs -0 sha256sum)
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-32
}

# revision PATH...: the last commit that changed the paths, "+dirty" if they have changes since.
revision() {
  local commit
  commit=$(git -C "$root" log -1 --format=%H -- "$@" 2>/dev/null || true)
  [[ -n "$commit" ]] || { echo unknown; return; }
  [[ -z "$(git -C "$root" status --porcelain -- "$@")" ]] || commit+="+dirty"
  echo "$commit"
}

size_of() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }

# build NAME TAG KEY CONTEXT [buildah options...]: build unless the image and its archive carry
# KEY already; then save the archive. Prints one line of the summary.
build() {
  local name="$1" tag="$2" key="$3" context="$4"; shift 4
  local image="$registry/$name:$tag" log="$LOG_DIR/image-$name.log"
  local archive="$out/$name-$tag.tar" start=$SECONDS state=cached
  local have previous
  have=$(podman image inspect --format "{{index .Labels \"$key_label\"}}" "$image" 2>/dev/null || true)
  if [[ "$have" != "$key" ]]; then
    previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    : >"$log"
    say "images: building $image (log: $log)"
    with_progress "$name" "$log" nice -n 19 buildah build --layers --network host --pull=never \
        --volume "$out/pip.conf:/etc/pip.conf:ro" \
        --volume "$trust_bundle:/etc/ssl/certs/host-trust.crt:ro" \
        --build-arg BASE="$base" --build-arg SOURCE="$source_url" \
        --label "$key_label=$key" --tag "$image" "$@" "$context" \
      || fail "image $name" "$log" "buildah could not build $image"
    state=built
    # The image this one replaces, now untagged (kept if a container or another image uses it).
    [[ -n "$previous" ]] && podman rmi "$previous" >>"$log" 2>&1 || true
  fi
  if [[ "$(cat "$archive.key" 2>/dev/null)" != "$key" || ! -f "$archive" ]]; then
    # Replaced in one rename: a node importing the previous archive meanwhile still reads it.
    rm -f "$archive.key" "$archive.partial"
    podman save --quiet --format docker-archive --output "$archive.partial" "$image" >>"$log" 2>&1 \
      || fail "image $name" "$log" "podman could not save $image to $archive"
    mv "$archive.partial" "$archive" && echo "$key" >"$archive.key"
  fi
  printf '  %-40s %8s  %-6s %4ss  %s\n' "$image" "$(size_of "$image")" "$state" \
    $((SECONDS - start)) "$archive" >>"$out/summary.txt"
}

build_app() {
  local inputs=(apps workflows dapr requirements.lock deploy/images/app)
  local revision key
  revision=$(revision "${inputs[@]}")
  key=$(inputs_key "${inputs[@]}" -- "$base_id" "$app_version" "$revision" "$source_url")
  build app "$app_version" "$key" "$root" \
    --file "$root/deploy/images/app/Containerfile" \
    --ignorefile "$root/deploy/images/app/Containerfile.dockerignore" \
    --build-arg VERSION="$app_version" --build-arg REVISION="$revision"
}

build_kafka() {
  local dist="$CACHE_DIR/kafka-$KAFKA_VERSION" revision key
  revision=$(revision deploy/images/kafka)
  key=$(inputs_key deploy/images/kafka "${dist#"$root"/}" -- "$base_id" "$revision" "$source_url")
  build kafka "$KAFKA_VERSION" "$key" "$root/deploy/images/kafka" \
    --build-context "kafka-dist=$dist" \
    --build-arg VERSION="$KAFKA_VERSION" --build-arg REVISION="$revision"
}

build_postgres() {
  local revision key
  revision=$(revision deploy/images/postgres)
  key=$(inputs_key deploy/images/postgres -- "$base_id" "$POSTGRES_MAJOR" "$revision" "$source_url")
  build postgres "$POSTGRES_MAJOR" "$key" "$root/deploy/images/postgres" \
    --build-arg PG_MAJOR="$POSTGRES_MAJOR" \
    --build-arg VERSION="$POSTGRES_MAJOR" --build-arg REVISION="$revision"
}

build_zipkin() {
  local dist="$CACHE_DIR/zipkin-$ZIPKIN_VERSION" revision key
  revision=$(revision deploy/images/zipkin)
  key=$(inputs_key deploy/images/zipkin "$dist" -- "$base_id" "$revision" "$source_url")
  build zipkin "$ZIPKIN_VERSION" "$key" "$root/deploy/images/zipkin" \
    --build-context "zipkin-dist=$dist" \
    --build-arg VERSION="$ZIPKIN_VERSION" --build-arg REVISION="$revision"
}

names=("$@")
((${#names[@]})) || names=(app kafka postgres zipkin)
: >"$out/summary.txt"
start=$SECONDS
for name in "${names[@]}"; do
  case "$name" in
    app | kafka | postgres | zipkin) "build_$name" ;;
    *) fail images "$LOG_DIR/images.log" "no image called '$name' (app, kafka, postgres, zipkin)" ;;
  esac
done
say "images: ready in $((SECONDS - start))s (image, size, built or cached, seconds, archive):"
cat "$out/summary.txt" >&2
