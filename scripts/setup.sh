#!/usr/bin/env bash
# Installs the Debian packages onestone needs, if any are missing, then the browser test's npm package
# (scripts/setup_browser_test.sh). Idempotent and non-interactive.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libopenblas-dev libopenblas-openmp-dev libutf8proc-dev libjansson-dev
  python3-torch python3-numpy   # PyTorch reference tests (parity goldens)
  libmicrohttpd-dev chromium wrk   # onestone serve; its browser test; scripts/load_test.sh
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exec bash "$(dirname "$0")/setup_browser_test.sh"

echo "setup: installing missing Debian packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
exec bash "$(dirname "$0")/setup_browser_test.sh"
