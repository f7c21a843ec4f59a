#!/usr/bin/env bash
# Download, on the host, the binary wheels the images need so that they build
# with `pip install --no-index --find-links` (no package index inside builds).
# The wheels target the local base image's Python (cp311, manylinux x86_64,
# glibc 2.36 for bookworm): deploy/docker/requirements.txt plus the build
# backend (deploy/docker/build-requirements.txt) for the workspace packages.
#
# usage: deploy/docker/build-wheelhouse.sh
# env:   TRADEHIVE_WHEEL_PYTHON  target Python version (default 3.11)
set -euo pipefail
# shellcheck source=deploy/docker/lib.sh
source "$(dirname "$0")/lib.sh"

py="${TRADEHIVE_WHEEL_PYTHON:-3.11}"
abi="cp${py/./}"
dest="$TRADEHIVE_ROOT/deploy/docker/wheelhouse"
req="$TRADEHIVE_ROOT/deploy/docker/requirements.txt"

"$TRADEHIVE_ROOT/deploy/docker/export-requirements.sh" --check

if python3 -m pip --version >/dev/null 2>&1; then pip=(python3 -m pip); else pip=(uvx pip); fi
platforms=()
for tag in manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_24_x86_64 manylinux_2_27_x86_64 \
           manylinux_2_28_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64 manylinux_2_35_x86_64; do
    platforms+=(--platform "$tag")
done

mkdir -p "$dest"
log "downloading wheels for CPython $py into $dest"
"${pip[@]}" download --quiet --disable-pip-version-check --only-binary=:all: \
    --python-version "$py" --implementation cp --abi "$abi" --abi abi3 --abi none "${platforms[@]}" \
    --dest "$dest" -r "$req" -r "$TRADEHIVE_ROOT/deploy/docker/requirements-viz.txt" -r "$TRADEHIVE_ROOT/deploy/docker/build-requirements.txt"
log "wheelhouse: $(find "$dest" -name '*.whl' | wc -l) wheels, $(du -sh "$dest" | cut -f1)"
