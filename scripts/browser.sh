#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright's own download cannot work here).
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]]; then
  echo "Installing Debian's chromium..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
