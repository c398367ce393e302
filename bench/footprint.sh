#!/usr/bin/env bash
# Agent footprint, lxmon-agent side by side with node_exporter (issue 7,
# benchmark 1), one method for both: the release lxmon-agent at --interval 1
# reporting to its own small lxmon-server (durability process), and Debian's
# prometheus-node-exporter (default collectors) scraped every second by
# `peers.py footprint` the way Prometheus 2.42 scrapes (its Accept header,
# gzip), for FOOTPRINT_DURATION s (600: the issue's "after 10 min"). From
# /proc/PID/status and /proc/PID/stat of each process:
#   - steady RSS: VmRSS at the end, the peak after the warm-up, and both
#     processes' RSS every 10 s (in the JSON);
#   - CPU per collection: utime+stime over [FOOTPRINT_WARMUP, end] divided
#     by the reports the server stored in that window (lxmon) or by the
#     scrapes (node_exporter);
#   - bytes on the wire per sample: node_exporter's gzip'd /metrics body /
#     the sample lines in it; lxmon: `lxmon-agent --once` reports compressed
#     as the agent sends a report (`lxmon-loadgen wire-size`), and, when the
#     server counts them (lxmon_report_wire_bytes_total), the bytes the
#     running agent really sent in the window.
# bench/run starts this in the background while bench/soak.sh runs (both
# last 10 min; FOOTPRINT_CONCURRENT names what ran alongside, for the
# record): per-process RSS and CPU time are the process's own, whatever else
# runs (see NOTES.md, "Agent footprint").
# Writes $BENCH_OUT/footprint.json.
#
# Knobs: FOOTPRINT_DURATION=600 FOOTPRINT_WARMUP=30 ONCE_RUNS=3
# FOOTPRINT_PEER=1 (0: lxmon-agent alone, no node_exporter, no apt-get)
# FOOTPRINT_CONCURRENT="" PEERS_INSTALL=1
source "$(dirname "$0")/lib.sh"

FOOTPRINT_DURATION="${FOOTPRINT_DURATION:-600}"
FOOTPRINT_WARMUP="${FOOTPRINT_WARMUP:-30}"
ONCE_RUNS="${ONCE_RUNS:-3}"
FOOTPRINT_PEER="${FOOTPRINT_PEER:-1}"
FOOTPRINT_CONCURRENT="${FOOTPRINT_CONCURRENT:-}"
PY="$BENCH_DIR/peers.py"

build_release
if [ "$FOOTPRINT_PEER" = 1 ]; then
  ensure_peers
fi
new_workdir
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

create_keys "$WORK/data" 1 "$WORK/agent.key"
SERVER_LOG_LEVEL=warn start_server "$WORK/data" --durability process
log "footprint: server pid $SERVER_PID at $SERVER_URL"

# Wire size of whole reports (each --once run samples, waits 1 s, samples again).
: >"$WORK/once.ndjson"
for _ in $(seq 1 "$ONCE_RUNS"); do
  "$BIN/lxmon-agent" --once --interval 1 2>/dev/null >>"$WORK/once.ndjson"
done
wire="$("$BIN/lxmon-loadgen" wire-size "$WORK/once.ndjson")"

ne_url="-" NE_PID="-" ne_version=null
if [ "$FOOTPRINT_PEER" = 1 ]; then
  ne_port="$(free_port)"
  "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$ne_port" >"$WORK/node_exporter.log" 2>&1 &
  NE_PID=$!
  STARTED_PIDS+=("$NE_PID")
  ne_url="http://127.0.0.1:$ne_port"
  wait_http "$ne_url/metrics" 30 "$NE_PID"
  ne_version="$(jq -n --arg v "$(peer_version prometheus-node-exporter)" '$v')"
fi
LXMON_LOG=warn "$BIN/lxmon-agent" --server "$SERVER_URL" --key-file "$WORK/agent.key" --interval 1 \
  --spool-dir "$WORK/spool" 2>"$WORK/agent.log" &
AGENT_PID=$!
STARTED_PIDS+=("$AGENT_PID")
log "footprint: lxmon-agent pid $AGENT_PID, node_exporter pid $NE_PID ($ne_url); ${FOOTPRINT_DURATION}s, CPU measured after ${FOOTPRINT_WARMUP}s${FOOTPRINT_CONCURRENT:+; alongside: $FOOTPRINT_CONCURRENT}"
# In the background and waited for, so that a stop of this script stops it too.
python3 "$PY" footprint "$ne_url" "$NE_PID" "$AGENT_PID" "$SERVER_URL" "$FOOTPRINT_WARMUP" "$FOOTPRINT_DURATION" \
  >"$WORK/footprint.json" &
PY_PID=$!
STARTED_PIDS+=("$PY_PID")
wait_pid "$PY_PID" "peers.py footprint"
kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; echo "lxmon-agent exited" >&2; exit 1; }
stop_pid "$AGENT_PID"
if [ "$NE_PID" != "-" ]; then stop_pid "$NE_PID"; fi
stop_pid "$SERVER_PID"

jq --argjson wire "$wire" --argjson machine "$(machine_json)" --argjson ne_version "$ne_version" \
  --arg concurrent "$FOOTPRINT_CONCURRENT" --arg load_before "$load_before" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg profile "$BENCH_PROFILE" \
  --arg cmd "lxmon-agent --server URL --key-file KEY --interval 1 (lxmon-server --durability process); prometheus-node-exporter --web.listen-address=127.0.0.1:PORT scraped every 1 s; FOOTPRINT_DURATION=$FOOTPRINT_DURATION FOOTPRINT_WARMUP=$FOOTPRINT_WARMUP python3 bench/peers.py footprint; lxmon-agent --once --interval 1 (x$ONCE_RUNS) | lxmon-loadgen wire-size" \
  --arg ne_cmd "prometheus-node-exporter --web.listen-address=127.0.0.1:PORT (default collectors), scraped every 1 s by peers.py footprint (Prometheus 2.42's Accept header, Accept-Encoding: gzip)" \
  '. + {machine: $machine, profile: $profile, command: $cmd, node_exporter_command: (if .node_exporter then $ne_cmd else null end),
        versions: {node_exporter: $ne_version}, concurrent_with: $concurrent,
        loadavg_before: $load_before, loadavg_after: $load_after, lxmon_wire: $wire}' \
  "$WORK/footprint.json" >"$OUT_DIR/footprint.json"
jq -c '{agent: (.lxmon_agent | {rss_mb_end, cpu_ms_per_collection, reports, live_wire_bps: .live_wire.bytes_per_sample}),
        node_exporter: (.node_exporter | if . then {rss_mb_end, cpu_ms_per_scrape, gzip_bytes_per_sample} else null end),
        once_wire_bytes_per_sample: .lxmon_wire.wire_bytes_per_sample}' "$OUT_DIR/footprint.json" >&2
log "wrote $OUT_DIR/footprint.json"
