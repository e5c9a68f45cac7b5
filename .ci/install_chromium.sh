#!/usr/bin/env bash
# The dashboard test loads the study page in headless Chromium: install Debian's package
# when it is missing (the test is skipped, saying so, where it cannot be installed).
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
else
    echo "Chromium is not installed; the dashboard's browser check will be skipped" \
         "(install it with: sudo apt-get install chromium)" >&2
fi
