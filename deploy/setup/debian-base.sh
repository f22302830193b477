#!/usr/bin/env bash
# The base of every image: a Debian root file system made here from Debian's packages with
# mmdebstrap (variant minbase: the essential packages, the required ones and apt), imported into
# the containers' storage as localhost/order-platform/debian-base:$DEBIAN_SUITE. What the public
# debian:<suite>-slim image is elsewhere (the Containerfiles' default BASE).
#   - documentation, man pages and translations are left out (dpkg path-excludes that stay in
#     the image, so later installs leave them out too), as in the slim image;
#   - apt keeps no downloaded package nor cache (deploy/images/debian-base/apt-container.conf,
#     the settings of Debian's own images), so the images' layers hold only what was installed;
#   - apt may not check the dates of Release files: this machine's clock is not the mirror's
#     (the host's apt has the same two options);
#   - /usr is merged by mmdebstrap's hook, as in Debian's own images (no usrmerge, no perl);
#   - /etc/hostname and /etc/resolv.conf are removed: the container runtime provides them.
# Cached: $CACHE_DIR/debian-base-$DEBIAN_SUITE/rootfs.tar, keyed by a hash of the options below.
# Prints the image's name on stdout.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

image="localhost/order-platform/debian-base:$DEBIAN_SUITE"
entry="$CACHE_DIR/debian-base-$DEBIAN_SUITE"
log="$LOG_DIR/debian-base.log"
key_label=org.order-platform.base-key
apt_conf="$(cd "$(dirname "${BASH_SOURCE[0]}")/../images/debian-base" && pwd)/apt-container.conf"

options=(
  --variant=minbase
  # /usr merged by mmdebstrap's own hook instead of the usrmerge package, which would leave
  # perl (35 MB) in the base.
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --aptopt='Acquire::Check-Valid-Until "false"'
  --aptopt='Acquire::Check-Date "false"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf"'
)
# Last: with these settings, mmdebstrap's own `apt-get clean` leaves apt's caches alone.
options+=(
  --customize-hook="copy-in $apt_conf /etc/apt/apt.conf.d/"
  --customize-hook='rm -f "$1"/var/cache/apt/*.bin'
)
# The cache key: the suite, the options and the apt settings' content (not their path, which
# differs between clones).
key=$(printf '%s\n' "$DEBIAN_SUITE" "${options[@]//$apt_conf/apt-container.conf}" \
  | cat - "$apt_conf" | sha256sum | cut -c1-16)

complete() { [[ -f "$entry/rootfs.tar" && "$(cat "$entry/key" 2>/dev/null)" == "$key" ]]; }
imported() {
  [[ "$(podman image inspect --format "{{index .Labels \"$key_label\"}}" "$image" 2>/dev/null)" \
    == "$key" ]]
}

if ! complete; then
  lock_entry "$entry"
  if ! complete; then
    command -v mmdebstrap >/dev/null || fail debian-base "$log" "mmdebstrap is missing: run deploy/setup/containers.sh"
    : >"$log"
    say "debian-base: making a Debian $DEBIAN_SUITE root file system with mmdebstrap (log: $log)"
    start=$SECONDS
    rm -rf "$entry.partial" && mkdir -p "$entry.partial"
    with_progress debian-base "$log" nice -n 19 mmdebstrap "${options[@]}" \
        "$DEBIAN_SUITE" "$entry.partial/rootfs.tar" \
      || fail debian-base "$log" "mmdebstrap could not make the $DEBIAN_SUITE root file system"
    echo "$key" >"$entry.partial/key"
    rm -rf "$entry" && mv "$entry.partial" "$entry"
    say "debian-base: root file system made in $((SECONDS - start))s"
  fi
fi

if ! imported; then
  previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL $key_label=$key" \
      --change "LABEL org.opencontainers.image.title=debian-base" \
      --change "LABEL org.opencontainers.image.version=$DEBIAN_SUITE-$(tar -xOf "$entry/rootfs.tar" ./etc/debian_version)" \
      "$entry/rootfs.tar" "$image" >>"$log" 2>&1 \
    || fail debian-base "$log" "podman could not import $entry/rootfs.tar"
  say "debian-base: imported as $image"
  # The base it replaces, unless images still use it.
  [[ -n "$previous" ]] && podman rmi "$previous" >>"$log" 2>&1 || true
fi
echo "$image"
