#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the dashboard's browser test. Playwright's and
# Selenium's own browser downloads do not work on these machines; the distribution's do.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
AXE_VERSION="4.14.1"
# axe-core, the accessibility checker the browser test injects into each page (never served by
# the dashboard): from the npm registry into .local/axe, when npm is there.
axe() {
  local have="$ROOT/.local/axe/node_modules/axe-core/package.json"
  if [ -f "$have" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$have"; then return 0; fi
  if command -v npm >/dev/null 2>&1; then
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.local/axe" "axe-core@$AXE_VERSION" \
      || echo "axe-core not installed: the browser test skips its accessibility check" >&2
  fi
}
axe
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
install() { $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver; }
install || { $SUDO apt-get update -q && install; }
chromium --version
