#!/usr/bin/env bash
# Health-check scheduler: CHECKS server-side checks at CHECK_INTERVAL s, of
# which HANGING never get an answer (HTTP checks against a listener that
# accepts and stays silent, HANG_TIMEOUT s each), TCP are TCP connects and
# the rest HTTP GETs answered 200, all on 127.0.0.1. After every check has
# started once, measures CHECK_CYCLES whole intervals: runs finished versus
# expected, the server's schedule lag (due time → probe start), the gaps
# between a check's runs as stored, and the server's CPU and RSS.
# Writes $OUT_DIR/checks.json.
#   CHECKS=1000 HANGING=100 TCP=300 CHECK_INTERVAL=60 CHECK_CYCLES=2 bash bench/checks.sh
# (about CHECK_INTERVAL × (CHECK_CYCLES + 0.5) s; CHECK_CYCLES=3 was the
# earlier, 4-minute version)
source "$(dirname "$0")/lib.sh"
export CHECKS="${CHECKS:-1000}" HANGING="${HANGING:-100}" TCP="${TCP:-300}"
export CHECK_INTERVAL="${CHECK_INTERVAL:-60}" CHECK_CYCLES="${CHECK_CYCLES:-2}" HANG_TIMEOUT="${HANG_TIMEOUT:-10}"
build_release
new_workdir
python3 "$BENCH_DIR/checks_targets.py" "$WORK/ports.json" >"$WORK/targets.json" &
TARGETS_PID=$!
STARTED_PIDS+=("$TARGETS_PID")
for _ in $(seq 1 100); do [ -s "$WORK/ports.json" ] && break; sleep 0.05; done
[ -s "$WORK/ports.json" ] || { echo "targets did not start" >&2; exit 1; }
SERVER_LOG_LEVEL=warn start_server "$WORK/data"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
log "checks: $CHECKS checks @ ${CHECK_INTERVAL} s ($HANGING hanging, $TCP tcp) for $CHECK_CYCLES cycles against $SERVER_URL"
# Bounded: creation and warm-up take well under two intervals.
timeout $((CHECK_INTERVAL * (CHECK_CYCLES + 2) + 300)) \
  python3 "$BENCH_DIR/checks_sched.py" "$SERVER_URL" bench-admin "$SERVER_PID" "$WORK/ports.json" >"$WORK/sched.json"
stop_pid "$TARGETS_PID"
jq --slurpfile targets "$WORK/targets.json" --arg load_before "$load_before" \
  --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" --arg concurrent "${CHECKS_CONCURRENT:-}" \
  --arg command "lxmon-server --listen 127.0.0.1:0 --data-dir DIR (durability power); CHECKS=$CHECKS HANGING=$HANGING TCP=$TCP CHECK_INTERVAL=$CHECK_INTERVAL CHECK_CYCLES=$CHECK_CYCLES HANG_TIMEOUT=$HANG_TIMEOUT bench/checks_sched.py" \
  '. + {targets: $targets[0], loadavg_before: $load_before, loadavg_after: $load_after, command: $command,
        concurrent_with: $concurrent}' \
  "$WORK/sched.json" >"$OUT_DIR/checks.json"
cat "$OUT_DIR/checks.json" >&2
