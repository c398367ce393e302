#!/usr/bin/env bash
# Installs the headless browser the dashboard's browser tests drive: Debian's
# Chromium, driven by playwright-core (never `playwright install`, which
# downloads a browser build of its own). Idempotent: does nothing when
# /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
