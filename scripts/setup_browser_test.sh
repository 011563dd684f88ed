#!/usr/bin/env bash
# Installs playwright-core (npm, without its install scripts: no browser download) into node_modules/ (git
# ignores it), for the browser test of `onestone serve`'s page (tests/web/page_test.mjs), which drives the
# Debian chromium package. Idempotent; called by scripts/setup.sh once nodejs, npm and chromium are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.65.1
if [ -f node_modules/playwright-core/package.json ] &&
   grep -q "\"version\": \"$version\"" node_modules/playwright-core/package.json; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs and npm (for the browser test)"
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "setup: installing playwright-core $version into node_modules/ (npm, --ignore-scripts)"
npm install --prefix . --no-save --no-package-lock --ignore-scripts --no-audit --no-fund --silent \
  "playwright-core@$version"
