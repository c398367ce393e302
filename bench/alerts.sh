#!/usr/bin/env bash
# Alert latency: a threshold rule's breaching report → its webhook
# notification received, with AGENTS simulated agents reporting in the
# background. Release server (--alert-group-interval 0, group_wait
# GROUP_WAIT_MS from its config file), lxmon-loadgen in live mode for the
# whole run, and bench/alerts_latency.py: a webhook receiver on loopback
# plus a probe host with its own agent key that alternates breaching and
# normal values every PERIOD seconds, BREACHES times.
# Writes $BENCH_OUT/alerts.json (default bench/out), plus each run's loadgen
# and server logs there.
#
# Knobs (environment): AGENTS=1000 ALERT_INTERVAL=10 BREACHES=80
# PERIOD=0.5 GROUP_WAITS="200" (e.g. "200 0": one run per group_wait;
# the first is the headline figure) ALERT_SLACK=10 (seconds the load
# generator runs beyond the probe's expected end). A run takes about
# 2 × BREACHES × PERIOD + 2 × ALERT_INTERVAL + ALERT_SLACK seconds plus
# the keys (under 2 min by default; BREACHES=150 PERIOD=1 is the earlier,
# 6-minute version).
source "$(dirname "$0")/lib.sh"

AGENTS="${AGENTS:-1000}"
ALERT_INTERVAL="${ALERT_INTERVAL:-10}"
BREACHES="${BREACHES:-80}"
PERIOD="${PERIOD:-0.5}"
GROUP_WAITS="${GROUP_WAITS:-200}"
ALERT_SLACK="${ALERT_SLACK:-10}"

build_release
new_workdir
results=()

for gw in $GROUP_WAITS; do
  name="alerts-gw$gw"
  data="$WORK/$name" keys="$WORK/$name.keys" config="$WORK/$name.toml"
  printf '[alerts]\ngroup_wait_ms = %s\n' "$gw" >"$config"
  log "$name: creating $AGENTS + 1 keys"
  create_keys "$data" "$AGENTS" "$keys"
  create_keys "$data" 1 "$WORK/$name.probe-key"
  SERVER_LOG_LEVEL=warn start_server "$data" --config "$config" --durability power --alert-group-interval 0
  # Breach and clear each take PERIOD; before them the probe waits for every
  # background agent's first report (one interval after their registration)
  # and one warm-up breach. The load generator must outlast the probe
  # (loadgen_outlasted_probe in the JSON says whether it did).
  duration=$(awk -v b="$BREACHES" -v p="$PERIOD" -v i="$ALERT_INTERVAL" -v s="$ALERT_SLACK" 'BEGIN { printf "%d", 2 * b * p + 2 * i + s }')
  lg_cmd=("$BIN/lxmon-loadgen" --server "$SERVER_URL" --keys "$keys" --server-pid "$SERVER_PID" --mode live
    --interval "$ALERT_INTERVAL" --duration "$duration")
  log "$name: server pid $SERVER_PID at $SERVER_URL; loadgen ${lg_cmd[*]:1}"
  "${lg_cmd[@]}" >"$WORK/$name.loadgen.json" 2>"$WORK/$name.loadgen.log" &
  lg_pid=$!
  STARTED_PIDS+=("$lg_pid")
  probe_started=$SECONDS
  probe="$(python3 "$BENCH_DIR/alerts_latency.py" "$SERVER_URL" bench-admin "$(cat "$WORK/$name.probe-key")" \
    "$BREACHES" "$PERIOD" "$AGENTS")"
  probe_s=$((SECONDS - probe_started))
  kill -0 "$lg_pid" 2>/dev/null && lg_alive=true || lg_alive=false
  wait_pid "$lg_pid" "$name: lxmon-loadgen" || { cat "$WORK/$name.loadgen.log" >&2; exit 1; }
  "$lg_alive" || log "$name: the load generator ended before the probe (raise ALERT_SLACK)"
  stop_pid "$SERVER_PID"
  cp "$WORK/$name.loadgen.log" "$OUT_DIR/$name.loadgen.log"; cp "$data.server.log" "$OUT_DIR/$name.server.log"
  results+=("$(jq -n --arg name "$name" --argjson gw "$gw" --argjson probe "$probe" \
    --argjson loadgen "$(cat "$WORK/$name.loadgen.json")" --argjson lg_alive "$lg_alive" --argjson probe_s "$probe_s" \
    --arg cmd "lxmon-server --listen 127.0.0.1:0 --data-dir DIR --config server.toml([alerts] group_wait_ms=$gw) --durability power --alert-group-interval 0; lxmon-loadgen --server URL --keys KEYS($AGENTS) --server-pid PID --mode live --interval $ALERT_INTERVAL --duration $duration; python3 bench/alerts_latency.py URL PASSWORD PROBE_KEY $BREACHES $PERIOD $AGENTS" \
    --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '{name: $name, group_wait_ms: $gw, command: $cmd, loadavg_after: $load, probe_s: $probe_s,
      loadgen_outlasted_probe: $lg_alive, probe: $probe,
      loadgen: $loadgen}')")
  jq -c '{name, latency_ms: .probe.latency_ms, server: .probe.server_histogram, misses: .probe.misses,
          ingest_rtt_ms: .probe.probe_ingest_rtt_ms, loadgen_errors: .loadgen.errors, loadgen_outlasted_probe}' <<<"${results[-1]}" >&2
done

printf '%s\n' "${results[@]}" | jq -s --argjson machine "$(machine_json)" '{machine: $machine, runs: .}' >"$OUT_DIR/alerts.json"
log "wrote $OUT_DIR/alerts.json"
