#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

# End-to-end tests start the real binaries, so build them all first.
cargo build --workspace --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

# The dashboard (web/): lint, types, unit tests, then browser tests in Debian's
# headless Chromium (installed by web/scripts/install-browser.sh when missing)
# against the lxmon-server and lxmon-agent built above.
(cd web && npm ci --no-audit --no-fund && npm run lint && npm run typecheck && npm test && npm run test:e2e)
