# Shared helpers of the bench scripts (sourced, not run).
#
# Binaries come from ${CARGO_TARGET_DIR:-<repo>/target}/release, or from
# .../debug with BENCH_PROFILE=debug (the CI smoke: figures meaningless, the
# harness checked). Every process a script starts is stopped by its PID when
# the script exits.
#
# Needs bash, coreutils, jq, curl, python3 (standard library only), awk, sed,
# grep, od, find and getconf; the peers (bench/peers.sh, bench/footprint.sh)
# come from Debian with apt-get (ensure_peers), cargo only to build.

set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BENCH_PROFILE="${BENCH_PROFILE:-release}"
case "$BENCH_PROFILE" in
  release | debug) ;;
  *) echo "BENCH_PROFILE must be release or debug, not $BENCH_PROFILE" >&2; exit 2 ;;
esac
BIN="$TARGET_DIR/$BENCH_PROFILE"
OUT_DIR="${BENCH_OUT:-$BENCH_DIR/out}"

missing_tools=""
for tool in jq curl python3 awk sed grep od find getconf mktemp timeout nice seq du sort cut head tail tee basename nproc; do
  command -v "$tool" >/dev/null 2>&1 || missing_tools="$missing_tools $tool"
done
if [ -n "$missing_tools" ]; then
  echo "bench: missing tools:$missing_tools (on Debian: apt-get install jq curl python3 gawk)" >&2
  exit 1
fi
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

# The cargo command that builds $BIN (release, or debug for the smoke).
build_command() {
  if [ "$BENCH_PROFILE" = release ]; then echo "cargo build --release --bins"; else echo "cargo build --workspace --bins"; fi
}

# Builds the binaries unless BENCH_SKIP_BUILD=1 (bench/run builds once).
build_release() {
  if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    command -v cargo >/dev/null 2>&1 || { echo "cargo not found (needed to build $BIN)" >&2; exit 1; }
    log "$(build_command) (target dir $TARGET_DIR)"
    # shellcheck disable=SC2046
    (cd "$ROOT" && $(build_command) >&2)
  fi
  for b in lxmon-server lxmon-loadgen lxmon-agent; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b (build with: $(build_command))" >&2; exit 1; }
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

# forget_pid PID: once PID has been waited for (its number may be reused),
# cleanup must not signal it any more.
forget_pid() {
  local p keep=()
  for p in "${STARTED_PIDS[@]:-}"; do
    if [ -n "$p" ] && [ "$p" != "$1" ]; then keep+=("$p"); fi
  done
  STARTED_PIDS=("${keep[@]:-}")
}

# stop_pid PID: SIGTERM, then wait for it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
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

# free_port: a loopback TCP port nobody listens on right now (for programs
# that cannot take port 0 and report the one they got).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL TIMEOUT_S PID: until URL answers 2xx; fails if PID exits.
wait_http() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "pid $3 exited while waiting for $1" >&2; return 1; }
    sleep 0.2
  done
  echo "$1 did not answer in $2 s" >&2; return 1
}

# wait_cpu_idle PID TIMEOUT_S: until PID uses under 1.5 % of a core over
# IDLE_WINDOW_S (2) s (its background work after a load has finished).
wait_cpu_idle() {
  local deadline=$((SECONDS + $2)) a b w="${IDLE_WINDOW_S:-2}"
  while [ $SECONDS -lt $deadline ]; do
    a="$(cpu_s "$1")"; sleep "$w"; b="$(cpu_s "$1")"
    awk -v a="$a" -v b="$b" -v w="$w" 'BEGIN { exit !(b - a < 0.015 * w) }' && return 0
  done
  return 1
}

# sqlite_used_bytes FILE: pages in use (page count - freelist) × page size,
# from the SQLite header (as storage.sh reads it).
sqlite_used_bytes() {
  local be
  be() { od -An -tu1 -j "$2" -N "$3" "$1" | awk '{ for (i = 1; i <= NF; i++) v = v * 256 + $i } END { print v }'; }
  local page_size; page_size="$(be "$1" 16 2)"; [ "$page_size" = 1 ] && page_size=65536
  echo $(( ($(be "$1" 28 4) - $(be "$1" 36 4)) * page_size ))
}

# --- peers: Debian's prometheus-node-exporter, prometheus, victoria-metrics ---

# peer_bins: sets NODE_EXPORTER, PROMETHEUS, VICTORIA; true when all three exist.
peer_bins() {
  NODE_EXPORTER="$(command -v prometheus-node-exporter || command -v node_exporter || true)"
  PROMETHEUS="$(command -v prometheus || true)"
  VICTORIA="$(command -v victoria-metrics || command -v victoria-metrics-prod || true)"
  [ -n "$NODE_EXPORTER" ] && [ -n "$PROMETHEUS" ] && [ -n "$VICTORIA" ]
}

# ensure_peers: installs the three packages with apt-get when one is missing
# (apt-get update first; their services kept from starting by a policy-rc.d
# that denies, only if none is there, removed after). PEERS_INSTALL=0: fail
# instead. The apt log lands in $OUT_DIR/peers-apt.log.
ensure_peers() {
  peer_bins && return 0
  [ "${PEERS_INSTALL:-1}" = 1 ] || { echo "peers missing and PEERS_INSTALL=0" >&2; return 1; }
  command -v apt-get >/dev/null 2>&1 || { echo "peers missing and no apt-get" >&2; return 1; }
  local sudo="" own_policy=0 rc=0
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  log "installing prometheus-node-exporter prometheus victoria-metrics with apt-get"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      prometheus-node-exporter prometheus victoria-metrics; } >"$OUT_DIR/peers-apt.log" 2>&1 || rc=$?
  if [ "$own_policy" = 1 ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
  [ "$rc" = 0 ] || { tail -n 20 "$OUT_DIR/peers-apt.log" >&2; return 1; }
  peer_bins || { echo "peer binaries still missing after apt-get" >&2; return 1; }
}

# peer_version PACKAGE: its Debian version, or "?".
peer_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }

# wait_pid PID WHAT: waits for a background job of this script; fails with
# WHAT's name when it failed.
wait_pid() {
  local rc=0
  wait "$1" || rc=$?
  forget_pid "$1"
  [ "$rc" = 0 ] || { echo "$2 failed (exit $rc)" >&2; return "$rc"; }
}
