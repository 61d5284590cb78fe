#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the dashboard's browser test. Playwright's and
# Selenium's own browser downloads do not work on these machines; the distribution's do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
install() { $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver; }
install || { $SUDO apt-get update -q && install; }
chromium --version
