#!/usr/bin/env bash
# Remote-command round trip: API POST → final result stored, for a trivial
# allowlisted action (/bin/true) on loopback, RUNS times one after another,
# with the real server and the real agent. Writes $OUT_DIR/commands.json.
#   RUNS=1000 bash bench/commands.sh
source "$(dirname "$0")/lib.sh"
RUNS="${RUNS:-1000}"
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
jq --argjson machine "$(machine_json)" \
  --arg cmd "lxmon-server --durability power; lxmon-agent --interval 10 --config agent.toml(action true = /bin/true); python3 bench/commands_rtt.py URL PASSWORD $RUNS" \
  '{machine: $machine, command: $cmd} + .' <<<"$rtt" >"$OUT_DIR/commands.json"
jq -c 'del(.machine)' "$OUT_DIR/commands.json" >&2
