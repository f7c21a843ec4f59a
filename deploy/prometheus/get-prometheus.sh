#!/bin/sh
# Fetch Debian's prometheus package (prometheus + promtool) into a cache dir without installing it:
#   apt-get download prometheus && dpkg-deb -x   (no system service, no root needed once the index exists)
# Usage: deploy/prometheus/get-prometheus.sh [CACHE_DIR]
# Prints the directory holding the `prometheus` and `promtool` binaries on stdout; exits non-zero if they
# cannot be obtained. CACHE_DIR defaults to $TRADEHIVE_PROM_CACHE or ~/.cache/tradehive/prometheus.
set -eu

cache="${1:-${TRADEHIVE_PROM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tradehive/prometheus}}"
bin="$cache/root/usr/bin"

if [ -x "$bin/prometheus" ] && [ -x "$bin/promtool" ]; then
    echo "$bin"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "get-prometheus: apt-get not found (not a Debian system)" >&2; exit 2; }
mkdir -p "$cache/deb"
cd "$cache/deb"
rm -f prometheus_*.deb
if ! apt-get download prometheus >&2 2>/dev/null; then
    # the package index may be missing (fresh container): refresh it once, then retry
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 || true; fi
    apt-get download prometheus >&2 || { echo "get-prometheus: apt-get download prometheus failed" >&2; exit 3; }
fi
deb=$(ls prometheus_*.deb | head -n 1)
rm -rf "$cache/root.tmp"
dpkg-deb -x "$deb" "$cache/root.tmp"
rm -rf "$cache/root"
mv "$cache/root.tmp" "$cache/root"
[ -x "$bin/prometheus" ] && [ -x "$bin/promtool" ] || { echo "get-prometheus: binaries missing in $deb" >&2; exit 4; }
echo "$bin"
