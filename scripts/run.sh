#!/usr/bin/env bash
# Builds lxmon and runs it locally: lxmon-server with embedded storage, plus a
# local lxmon-agent reporting into it every 5 s. Ctrl-C stops both.
#
#   LXMON_PORT=8080  LXMON_DATA_DIR=./lxmon-data  bash scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

port="${LXMON_PORT:-8080}"
data="${LXMON_DATA_DIR:-./lxmon-data}"
interval="${LXMON_INTERVAL:-5}"

if command -v npm >/dev/null 2>&1; then
  echo "==> building the dashboard (web/)"
  (cd web && npm ci --no-audit --no-fund && npm run build)
else
  echo "==> npm not found: the server will run without its dashboard (the API works)"
fi
echo "==> building (release)"
cargo build --release --bins
bin=target/release

mkdir -p "$data"
chmod 700 "$data"
# A local install keeps its generated admin password and agent key beside
# the data, readable only by you, so every run can print the login.
if [ ! -s "$data/admin-password" ]; then
  (umask 077; head -c 15 /dev/urandom | base64 | tr -d '/+=' > "$data/admin-password")
fi
if [ ! -s "$data/local-agent.key" ]; then
  (umask 077; "$bin/lxmon-server" agent-key create --name local-agent --data-dir "$data" | tail -n 1 > "$data/local-agent.key")
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

LXMON_ADMIN_PASSWORD="$(cat "$data/admin-password")" \
  "$bin/lxmon-server" --listen "0.0.0.0:$port" --data-dir "$data" >"$data/server.out" 2>"$data/server.log" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null || { cat "$data/server.log" >&2; exit 1; }

LXMON_KEY_FILE="$data/local-agent.key" \
  "$bin/lxmon-agent" --server "http://127.0.0.1:$port" --interval "$interval" --spool-dir "$data/agent-spool" \
  2>"$data/agent.log" &
pids+=($!)

cat <<MSG

lxmon is running.
  URL:    http://127.0.0.1:$port/
  Login:  admin / $(cat "$data/admin-password")
  Agent:  reporting this machine every ${interval}s (log: $data/agent.log)
  Server log: $data/server.log
Ctrl-C stops both.
MSG
wait -n "${pids[@]}"
