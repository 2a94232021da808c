#!/bin/sh
# Install headless Chromium from Debian's packages, for the report's browser tests.
#
# Prints the browser's path on stdout and exits 0 when it is (or already was) installed;
# exits non-zero with the reason on stderr when it cannot be installed here (not root, no
# apt-get, or no package reachable). The browser test skips with that reason.
# Never downloads a browser build of its own: Debian's `chromium` package only.
set -eu

for candidate in chromium chromium-browser; do
    if path=$(command -v "$candidate" 2>/dev/null); then
        echo "$path"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: no chromium on PATH and no apt-get to install Debian's package" >&2
    exit 3
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium.sh: no chromium on PATH; installing Debian's package needs root (run: sudo apt-get install chromium)" >&2
    exit 4
fi

export DEBIAN_FRONTEND=noninteractive
# A lock held by another apt run is waited for, not fought.
apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || true
if ! apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        chromium fonts-dejavu-core >&2; then
    echo "chromium.sh: apt-get could not install the chromium package" >&2
    exit 5
fi
command -v chromium
