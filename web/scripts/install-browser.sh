#!/usr/bin/env bash
# Installs what the dashboard's browser tests need from Debian: Chromium,
# driven by playwright-core (never `playwright install`, which downloads a
# browser build of its own), and zbar-tools, which decodes the TOTP QR code
# the page draws. Idempotent: does nothing when both are already there.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/zbarimg ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core zbar-tools
/usr/bin/chromium --version
