#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first:
# npm packages (web/), Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh

# The dashboard is built first so the server binary embeds it, and the
# browser tests exercise the UI exactly as it ships.
(cd web && npm ci --no-audit --no-fund && npm run build)

# End-to-end tests start the real binaries, so build them all first.
cargo build --workspace --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

# The dashboard: lint, types, unit tests, then browser tests in Debian's
# headless Chromium (installed by web/scripts/install-browser.sh when missing)
# against the lxmon-server (serving its embedded UI) and lxmon-agent built above.
(cd web && npm run lint && npm run typecheck && npm test && LXMON_E2E_EMBEDDED=1 npm run test:e2e)
