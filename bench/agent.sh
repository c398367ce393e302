#!/usr/bin/env bash
# Agent footprint: the release lxmon-agent at --interval 1 against a running
# lxmon-server for AGENT_DURATION seconds (the issue's figure is after
# 10 min: AGENT_DURATION=600). Reads from /proc/PID/{stat,status}:
#   - steady RSS: VmRSS at the end (and the peak seen after warm-up);
#   - CPU per collection: utime+stime over the measured window divided by
#     the reports the server stored in it (lxmon_reports_ingested_total);
#   - bytes on the wire per sample: `lxmon-agent --once` prints one Report
#     as the agent builds it; `lxmon-loadgen wire-size` compresses it with
#     the protocol dictionary, as the agent sends it.
# Writes $BENCH_OUT/agent.json.
#
# Knobs: AGENT_DURATION=60 AGENT_WARMUP=10 ONCE_RUNS=3
source "$(dirname "$0")/lib.sh"

AGENT_DURATION="${AGENT_DURATION:-60}"
AGENT_WARMUP="${AGENT_WARMUP:-10}"
ONCE_RUNS="${ONCE_RUNS:-3}"

build_release
[ -x "$BIN/lxmon-agent" ] || { echo "missing $BIN/lxmon-agent" >&2; exit 1; }
new_workdir
data="$WORK/data" keys="$WORK/keys"
create_keys "$data" 1 "$keys"
start_server "$data" --durability process
log "server pid $SERVER_PID at $SERVER_URL"

# Wire size first (each --once run samples, waits 1 s, samples again).
: >"$WORK/once.ndjson"
for _ in $(seq 1 "$ONCE_RUNS"); do
  "$BIN/lxmon-agent" --once --interval 1 2>/dev/null >>"$WORK/once.ndjson"
done
wire="$("$BIN/lxmon-loadgen" wire-size "$WORK/once.ndjson")"
jq -c . <<<"$wire" >&2

LXMON_LOG=warn "$BIN/lxmon-agent" --server "$SERVER_URL" --key-file "$keys" --interval 1 \
  --spool-dir "$WORK/spool" 2>"$WORK/agent.log" &
AGENT_PID=$!
STARTED_PIDS+=("$AGENT_PID")
log "agent pid $AGENT_PID: warm-up ${AGENT_WARMUP}s, then measuring $((AGENT_DURATION - AGENT_WARMUP))s"
sleep "$AGENT_WARMUP"
kill -0 "$AGENT_PID" || { cat "$WORK/agent.log" >&2; exit 1; }
cpu0="$(cpu_s "$AGENT_PID")" reports0="$(metric "$SERVER_URL" lxmon_reports_ingested_total)"
rss_peak=0
end=$((SECONDS + AGENT_DURATION - AGENT_WARMUP))
while [ $SECONDS -lt $end ]; do
  r="$(rss_kb "$AGENT_PID")"; [ "$r" -gt "$rss_peak" ] && rss_peak=$r
  sleep 1
done
cpu1="$(cpu_s "$AGENT_PID")" reports1="$(metric "$SERVER_URL" lxmon_reports_ingested_total)"
rss_end="$(rss_kb "$AGENT_PID")"
samples_total="$(metric "$SERVER_URL" lxmon_samples_ingested_total)"
reports_total="$reports1"
stop_pid "$AGENT_PID"
stop_pid "$SERVER_PID"

jq -n --argjson wire "$wire" --arg cpu0 "$cpu0" --arg cpu1 "$cpu1" --arg r0 "$reports0" --arg r1 "$reports1" \
  --arg rss_end "$rss_end" --arg rss_peak "$rss_peak" --arg dur "$AGENT_DURATION" --arg warm "$AGENT_WARMUP" \
  --arg st "$samples_total" --arg rt "$reports_total" --argjson machine "$(machine_json)" \
  --arg cmd "lxmon-agent --server URL --key-file KEY --interval 1 (${AGENT_DURATION}s, measured after ${AGENT_WARMUP}s); lxmon-agent --once --interval 1 | lxmon-loadgen wire-size" \
  '{machine: $machine, command: $cmd, duration_s: ($dur|tonumber), warmup_s: ($warm|tonumber),
    reports_in_window: (($r1|tonumber) - ($r0|tonumber)),
    cpu_s_in_window: (($cpu1|tonumber) - ($cpu0|tonumber)),
    cpu_ms_per_collection: ((($cpu1|tonumber) - ($cpu0|tonumber)) * 1000 / ((($r1|tonumber) - ($r0|tonumber)) + 1e-9)),
    rss_mb_end: (($rss_end|tonumber) / 1024), rss_mb_peak: (($rss_peak|tonumber) / 1024),
    samples_per_report: (($st|tonumber) / (($rt|tonumber) + 1e-9)),
    wire: $wire}' >"$OUT_DIR/agent.json"
jq -c '{cpu_ms_per_collection, rss_mb_end, rss_mb_peak, reports_in_window, bytes_per_sample: .wire.wire_bytes_per_sample}' "$OUT_DIR/agent.json" >&2
log "wrote $OUT_DIR/agent.json"
