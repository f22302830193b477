#!/usr/bin/env bash
# Builds the images the cluster runs, without Docker: buildah builds each Containerfile under
# deploy/images/{pause,coredns,dapr} FROM scratch around a binary the set-up scripts built (or
# Debian's catatonit) and saves it as a docker-archive that `make k8s-up` imports into
# containerd. Cached by versions (the Dapr swaps too: dapr-sources.sh) and Containerfile
# contents; prints the entry's directory.
#   $CACHE_DIR/images/k8s-<hash>/<name>.tar and images.txt ("<reference> <file>" per line)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log="$LOG_DIR/k8s-images.log"
dapr_components=(daprd placement scheduler sentry operator injector)
hash=$(cat "$root"/deploy/images/{pause,coredns,dapr}/Containerfile /usr/bin/catatonit \
  <(echo "$DAPR_VERSION $DAPR_DURABLETASK_GO $DAPR_ETCD_SERVER $COREDNS_VERSION $KUBE_VERSION") \
  | sha256sum | cut -c1-12)
entry="$CACHE_DIR/images/k8s-$hash"
[[ -f $entry/images.txt ]] && { echo "$entry"; exit 0; }
mkdir -p "$CACHE_DIR/images"
lock_entry "$entry"
[[ -f $entry/images.txt ]] && { echo "$entry"; exit 0; }
command -v buildah >/dev/null || fail k8s-images "$log" "buildah is missing (deploy/setup/k8s-packages.sh installs it)"
: >"$log"
start=$SECONDS
partial="$entry.partial"
rm -rf "$partial" && mkdir -p "$partial/context"
# A storage of its own (vfs: no overlay mounts), removed afterwards: nothing is left in the
# machine's containers-storage that podman users share.
store=(--root "$partial/storage" --runroot "$partial/runroot" --storage-driver vfs)

# image REF CONTAINERFILE_DIR FILE BUILD_ARGS...: builds REF with FILE as the context's only
# file, saves it as $partial/<last part of REF's name>.tar.
image() {
  local ref=$1 dir=$2 file=$3; shift 3
  local name=${ref##*/}; name=${name%%:*}
  rm -rf "$partial/context" && mkdir -p "$partial/context" && cp "$file" "$partial/context/"
  with_progress "image $ref" "$log" buildah "${store[@]}" build --layers=false --pull=false \
      -f "$dir/Containerfile" "$@" -t "$ref" "$partial/context" \
    || fail k8s-images "$log" "buildah build of $ref failed"
  with_progress "save $ref" "$log" buildah "${store[@]}" push "$ref" "docker-archive:$partial/$name.tar:$ref" \
    || fail k8s-images "$log" "saving $ref as a docker-archive failed"
  echo "$ref $name.tar" >>"$partial/images.list"
  say "k8s-images: $ref $(du -h "$partial/$name.tar" | cut -f1)"
}

say "k8s-images: building the cluster's images with buildah (log: $log)"
image "localhost/order-platform/pause:$KUBE_VERSION" "$root/deploy/images/pause" /usr/bin/catatonit \
  --build-arg "VERSION=$KUBE_VERSION"
image "localhost/order-platform/coredns:$COREDNS_VERSION" "$root/deploy/images/coredns" \
  "$CACHE_DIR/coredns-$COREDNS_VERSION/coredns" --build-arg "VERSION=$COREDNS_VERSION"
for c in "${dapr_components[@]}"; do
  bin="$CACHE_DIR/dapr-$DAPR_VERSION/.dapr/bin/$c"
  [[ -x $bin ]] || bin="$CACHE_DIR/dapr-k8s-$DAPR_VERSION/$c"
  [[ -x $bin ]] || fail k8s-images "$log" "no $c binary: run deploy/setup/dapr.sh and dapr-k8s.sh"
  image "localhost/dapr/$c:$DAPR_VERSION" "$root/deploy/images/dapr" "$bin" \
    --build-arg "COMPONENT=$c" --build-arg "VERSION=$DAPR_VERSION"
done
buildah "${store[@]}" rmi --all >>"$log" 2>&1 || true
rm -rf "$partial/storage" "$partial/runroot" "$partial/context"
mv "$partial/images.list" "$partial/images.txt"
rm -rf "$entry" && mv "$partial" "$entry"
say "k8s-images: ready in $entry ($((SECONDS - start))s)"
echo "$entry"
