# Shared helpers of the bench scripts (sourced, not run).
#
# Binaries come from a release build in ${CARGO_TARGET_DIR:-<repo>/target}.
# Every process a script starts is stopped by its PID when the script exits.

set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
OUT_DIR="${BENCH_OUT:-$BENCH_DIR/out}"
CLK_TCK="$(getconf CLK_TCK)"
mkdir -p "$OUT_DIR"

STARTED_PIDS=()
WORK_DIRS=()
cleanup() {
  local rc=$? pid
  for pid in "${STARTED_PIDS[@]:-}"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  done
  for pid in "${STARTED_PIDS[@]:-}"; do
    if [ -n "$pid" ]; then wait "$pid" 2>/dev/null || true; fi
  done
  local d
  for d in "${WORK_DIRS[@]:-}"; do
    if [ -n "$d" ]; then rm -rf "$d"; fi
  done
  exit "$rc"
}
trap cleanup EXIT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Builds the release binaries unless BENCH_SKIP_BUILD=1 (bench/run builds once).
build_release() {
  if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release --bins (target dir $TARGET_DIR)"
    (cd "$ROOT" && cargo build --release --bins >&2)
  fi
  for b in lxmon-server lxmon-loadgen; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }
  done
}

# new_workdir: sets WORK to a fresh temporary directory, removed on exit.
new_workdir() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/lxmon-bench.XXXXXX")"
  WORK_DIRS+=("$WORK")
}

# create_keys DATA_DIR COUNT FILE: COUNT agent keys, one per line, in FILE.
create_keys() {
  LXMON_LOG=warn "$BIN/lxmon-server" agent-key create --name bench --count "$2" --data-dir "$1" | tail -n "$2" >"$3"
}

# start_server DATA_DIR [ARGS...]: sets SERVER_PID and SERVER_URL. Listens on
# a free loopback port (port 0; the banner's first line names the address).
start_server() {
  local data="$1"; shift
  local banner="$data.banner" errlog="$data.server.log"
  : >"$banner"
  LXMON_LOG="${SERVER_LOG_LEVEL:-info}" LXMON_ADMIN_PASSWORD=bench-admin \
    "$BIN/lxmon-server" --listen 127.0.0.1:0 --data-dir "$data" "$@" >"$banner" 2>"$errlog" &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 1 200); do
    if grep -q "listening on" "$banner" 2>/dev/null; then
      SERVER_URL="http://$(head -n1 "$banner" | sed 's/.* listening on //')"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$errlog" >&2; echo "server exited" >&2; exit 1; }
    sleep 0.05
  done
  echo "server did not start" >&2; exit 1
}

# stop_pid PID: SIGTERM, then wait for it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# cpu_s PID: user + system CPU seconds (/proc/PID/stat fields 14 and 15).
cpu_s() {
  awk -v tck="$CLK_TCK" '{ sub(/.*\) /, ""); printf "%.3f\n", ($12 + $13) / tck }' "/proc/$1/stat"
}

# rss_kb PID: VmRSS in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# metric URL NAME: one unlabelled figure from /metrics.
metric() { curl -fsS "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }

# wait_for_metric URL NAME VALUE TIMEOUT_S: until NAME == VALUE.
wait_for_metric() {
  local deadline=$((SECONDS + $4)) v
  while [ $SECONDS -lt $deadline ]; do
    v="$(metric "$1" "$2" || true)"
    [ "$v" = "$3" ] && return 0
    sleep 1
  done
  return 1
}

machine_json() {
  jq -n --arg nproc "$(nproc)" --arg mem "$(awk '/MemTotal/ { printf "%.1f GiB", $2/1048576 }' /proc/meminfo)" \
    --arg kernel "$(uname -sr)" --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
    '{nproc: ($nproc|tonumber), memory: $mem, kernel: $kernel, cpu: $cpu}'
}
