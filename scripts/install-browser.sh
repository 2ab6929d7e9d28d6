#!/usr/bin/env bash
# Installs what the browser tests need besides the Python packages: Debian's chromium (Playwright
# drives it; it never downloads its own) and axe-core from npm (the accessibility engine the tests
# inject into every page), into .cache/axe (git-ignored). Both are skipped when already there.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.11.0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  chromium --version
fi
if [ ! -f ".cache/axe/node_modules/axe-core/axe.min.js" ] || \
   ! grep -q "axe v$AXE_VERSION" .cache/axe/node_modules/axe-core/axe.min.js; then
  if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
  fi
  npm install --silent --no-audit --no-fund --prefix .cache/axe "axe-core@$AXE_VERSION" >/dev/null
fi
