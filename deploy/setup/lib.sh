# Shared helpers for the set-up scripts. Source it; do not run it.
# Every heavy artifact lives in $CACHE_DIR (outside the repository), one directory per
# component and version. An entry is built in "<entry>.partial" and renamed into place
# only when complete, so an interrupted run never leaves a half-written entry behind.
set -euo pipefail

CACHE_DIR="${ORDER_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/order-platform}"
LOG_DIR="$CACHE_DIR/logs"
mkdir -p "$CACHE_DIR" "$LOG_DIR"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# fail COMPONENT LOGFILE MESSAGE: stop set-up naming the component and where to look.
fail() {
  local component="$1" log="$2"; shift 2
  printf '\033[31mERROR [%s]: %s\033[0m\n' "$component" "$*" >&2
  if [[ -f "$log" ]]; then
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 20 "$log" >&2
  fi
  printf 'log file: %s\n' "$log" >&2
  exit 1
}

# with_progress LABEL LOGFILE CMD...: run CMD with output to LOGFILE, printing elapsed time.
with_progress() {
  local label="$1" log="$2"; shift 2
  local start=$SECONDS ticks=0
  "$@" >>"$log" 2>&1 &
  local pid=$!
  # Checked every second (a step ends when it ends), reported every 5 s.
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    if ((ticks % 5 == 0)) && kill -0 "$pid" 2>/dev/null; then
      printf '    %s: %ds elapsed (%s lines of log)\n' "$label" $((SECONDS - start)) "$(wc -l <"$log")" >&2
    fi
  done
  wait "$pid"
}

# lock_entry ENTRY: serialize set-up runs that build the same cache entry (two terminals running
# `make up` at once would otherwise share "<entry>.partial"). Re-check completeness afterwards.
lock_entry() {
  exec 9>"$1.lock"
  flock 9
}

# fetch_url URL DEST COMPONENT LOG: download with retries; never leaves a partial DEST.
fetch_url() {
  local url="$1" dest="$2" component="$3" log="$4"
  curl -fsSL --retry 3 --retry-delay 2 --connect-timeout 20 -o "$dest.part" "$url" >>"$log" 2>&1 \
    || { rm -f "$dest.part"; fail "$component" "$log" "download failed: $url"; }
  mv "$dest.part" "$dest"
}
