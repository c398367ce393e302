#!/bin/sh
# lxmon agent installer, served by lxmon-server at /install.sh:
#
#   curl -fsSL http://SERVER:8080/install.sh | sudo sh -s -- --token lxe_...
#
# Downloads the agent from the server, exchanges the enrollment token for this
# host's own agent key, writes /etc/lxmon/agent.toml (mode 0600), installs the
# hardened systemd unit and starts it.
#
# Options: --token TOKEN (required)  --server URL  --hostname NAME
#          --root DIR (install below DIR, for images and tests)
#          --no-systemd (write the files, do not touch systemd)
set -eu

SERVER="__LXMON_SERVER__"
TOKEN=""
ROOT=""
SYSTEMD=1
HOST=""

die() { echo "lxmon install: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --token) [ $# -ge 2 ] || die "--token needs a value"; TOKEN="$2"; shift 2 ;;
    --server) [ $# -ge 2 ] || die "--server needs a value"; SERVER="$2"; shift 2 ;;
    --hostname) [ $# -ge 2 ] || die "--hostname needs a value"; HOST="$2"; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a value"; ROOT="$2"; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ -n "$TOKEN" ] || die "--token is required"
case "$TOKEN" in lxe_*) ;; *) die "that is not an enrollment token (they start with lxe_)" ;; esac
command -v curl >/dev/null 2>&1 || die "curl is required"
[ -n "$HOST" ] || HOST=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)

BIN_DIR="$ROOT/usr/local/bin"
CONF_DIR="$ROOT/etc/lxmon"
UNIT_DIR="$ROOT/etc/systemd/system"
mkdir -p "$BIN_DIR" "$CONF_DIR" "$UNIT_DIR"
chmod 0750 "$CONF_DIR"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "==> downloading lxmon-agent from $SERVER"
curl -fsS -o "$TMP/lxmon-agent" "$SERVER/download/lxmon-agent" || die "could not download the agent"
curl -fsS -o "$TMP/lxmon-agent.service" "$SERVER/download/lxmon-agent.service" || die "could not download the unit"

echo "==> enrolling $HOST"
# JSON-escape the hostname's quotes and backslashes.
HOST_JSON=$(printf '%s' "$HOST" | sed 's/\\/\\\\/g; s/"/\\"/g')
STATUS=$(curl -sS -o "$TMP/enroll.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  --data "{\"token\":\"$TOKEN\",\"hostname\":\"$HOST_JSON\"}" "$SERVER/api/agent/enroll") || die "could not reach $SERVER"
[ "$STATUS" = 200 ] || die "enrollment refused ($STATUS): $(cat "$TMP/enroll.json")"
KEY=$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' "$TMP/enroll.json")
[ -n "$KEY" ] || die "enrollment answered without a key"

install -m 0755 "$TMP/lxmon-agent" "$BIN_DIR/lxmon-agent"
install -m 0644 "$TMP/lxmon-agent.service" "$UNIT_DIR/lxmon-agent.service"
( umask 077
  cat > "$CONF_DIR/agent.toml" <<CONF
# Written by the lxmon installer. Holds this host's agent key: keep it 0600.
server = "$SERVER"
key = "$KEY"
spool_dir = "/var/lib/lxmon-agent"
CONF
)
chmod 0600 "$CONF_DIR/agent.toml"

if [ "$SYSTEMD" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now lxmon-agent
  echo "==> lxmon-agent is running (systemctl status lxmon-agent)"
else
  echo "==> installed under ${ROOT:-/} without starting it (--no-systemd)"
fi
