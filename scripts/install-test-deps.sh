#!/usr/bin/env bash
# Installs what the Rust tests need besides cargo: idempotent, quiet when
# everything is already there.
# - aiosmtpd: the real SMTP server lxmon-notify's email tests deliver to
#   (crates/notify/tests/smtp_sink.py).
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet 'aiosmtpd>=1.4'
