#!/usr/bin/env bash
# Remote-command round trip: API POST → final result stored, for a trivial
# allowlisted action (/bin/true) on loopback, RUNS times one after another,
# with the real server and the real agent. Then the command path under load:
# FLEET_AGENTS simulated agents long-polling (lxmon-loadgen --mode commands),
# FLEET_COMMANDS commands sent FLEET_CONCURRENCY at a time, round-robin over
# the hosts, each timed POST → delivered and POST → result stored.
# Writes $OUT_DIR/commands.json.
#   RUNS=1000 FLEET_AGENTS=1000 FLEET_COMMANDS=2000 FLEET_CONCURRENCY=8 bash bench/commands.sh
source "$(dirname "$0")/lib.sh"
RUNS="${RUNS:-1000}"
FLEET_AGENTS="${FLEET_AGENTS:-1000}" FLEET_COMMANDS="${FLEET_COMMANDS:-2000}" FLEET_CONCURRENCY="${FLEET_CONCURRENCY:-8}"
build_release
[ -x "$BIN/lxmon-agent" ] || { echo "missing $BIN/lxmon-agent" >&2; exit 1; }
new_workdir
create_keys "$WORK/data" 1 "$WORK/key"
cat >"$WORK/agent.toml" <<TOML
[[actions]]
name = "true"
description = "Do nothing, successfully"
argv = ["/bin/true"]
timeout_s = 5
TOML
start_server "$WORK/data" --durability power
LXMON_LOG_LEVEL=warn LXMON_KEY_FILE="$WORK/key" "$BIN/lxmon-agent" --server "$SERVER_URL" --interval 10 \
  --spool-dir "$WORK/spool" --config "$WORK/agent.toml" 2>"$WORK/agent.log" &
AGENT_PID=$!
STARTED_PIDS+=("$AGENT_PID")
log "commands: $RUNS round trips against $SERVER_URL"
rtt="$(python3 "$BENCH_DIR/commands_rtt.py" "$SERVER_URL" bench-admin "$RUNS")"
stop_pid "$AGENT_PID"
stop_pid "$SERVER_PID"

create_keys "$WORK/fleet" "$FLEET_AGENTS" "$WORK/fleet.keys"
start_server "$WORK/fleet" --durability power
log "commands: $FLEET_COMMANDS through $FLEET_AGENTS long-polling simulated agents, $FLEET_CONCURRENCY at a time"
fleet="$(LXMON_ADMIN_PASSWORD=bench-admin "$BIN/lxmon-loadgen" --server "$SERVER_URL" --keys "$WORK/fleet.keys" \
  --server-pid "$SERVER_PID" --mode commands --commands "$FLEET_COMMANDS" --concurrency "$FLEET_CONCURRENCY")"
jq --argjson machine "$(machine_json)" --argjson fleet "$fleet" \
  --arg cmd "lxmon-server --durability power; lxmon-agent --interval 10 --config agent.toml(action true = /bin/true); python3 bench/commands_rtt.py URL PASSWORD $RUNS" \
  --arg fleet_cmd "lxmon-server --durability power; LXMON_ADMIN_PASSWORD=… lxmon-loadgen --mode commands --keys KEYS($FLEET_AGENTS) --commands $FLEET_COMMANDS --concurrency $FLEET_CONCURRENCY --server-pid PID" \
  '{machine: $machine, command: $cmd, fleet_command: $fleet_cmd, fleet: $fleet} + .' <<<"$rtt" >"$OUT_DIR/commands.json"
jq -c 'del(.machine)' "$OUT_DIR/commands.json" >&2
