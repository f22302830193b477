#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (tests/browser, Playwright drives it
# headless; Playwright's own browser download cannot work on this machine). Installed with apt
# once; a no-op when /usr/bin/chromium runs. Prints the browser's path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log="$LOG_DIR/chromium-setup.log"
browser="${CHROMIUM:-/usr/bin/chromium}"
works() { [[ -x "$browser" ]] && "$browser" --headless --no-sandbox --version >/dev/null 2>&1; }
if works; then echo "$browser"; exit 0; fi
lock_entry "$CACHE_DIR/chromium"
if works; then echo "$browser"; exit 0; fi
[[ $(id -u) == 0 ]] || fail chromium "$log" "$browser is missing: run \`apt-get install chromium\` as root (or set CHROMIUM)"
command -v apt-get >/dev/null || fail chromium "$log" "apt-get is required (Debian or Ubuntu)"
: >"$log"
say "chromium: installing Debian's chromium package (log: $log)"
export DEBIAN_FRONTEND=noninteractive
if ! with_progress chromium "$log" apt-get install -y --no-install-recommends chromium; then
  # Stale or absent package lists (a fresh machine): refresh them once.
  with_progress chromium "$log" apt-get update || fail chromium "$log" "apt-get update failed"
  with_progress chromium "$log" apt-get install -y --no-install-recommends chromium \
    || fail chromium "$log" "apt-get install chromium failed"
fi
works || fail chromium "$log" "$browser does not start (--headless --version)"
say "chromium: $("$browser" --headless --no-sandbox --version 2>/dev/null) ready"
echo "$browser"
