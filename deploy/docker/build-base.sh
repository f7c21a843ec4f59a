#!/usr/bin/env bash
# Build the local base image (no registry is reachable here): a minimal Debian
# bookworm root file system with Python 3.11 made by debootstrap, imported into
# the Docker engine. The Dockerfiles default to python:3.12-slim for users; pass
# BASE_IMAGE=tradehive/base-local:bookworm to build on this one instead.
#
# usage: deploy/docker/build-base.sh [--force]
# env:   TRADEHIVE_BASE_IMAGE  image tag (default tradehive/base-local:bookworm)
#        TRADEHIVE_DEBIAN_MIRROR  mirror URI (default: read from the apt sources)
#        TRADEHIVE_BASE_FORCE=1   same as --force (rebuild even if the image exists)
set -euo pipefail
# shellcheck source=deploy/docker/lib.sh
source "$(dirname "$0")/lib.sh"

image="${TRADEHIVE_BASE_IMAGE:-tradehive/base-local:bookworm}"
suite=bookworm
force="${TRADEHIVE_BASE_FORCE:-0}"
[[ "${1:-}" == "--force" ]] && force=1

if [[ "$force" != 1 ]] && image_exists "$image"; then
    log "base image $image exists (use --force to rebuild)"
    exit 0
fi

command -v docker >/dev/null || die "docker is not installed"
[[ $(id -u) == 0 ]] || die "debootstrap needs root"
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi

mirror="${TRADEHIVE_DEBIAN_MIRROR:-$(debian_mirror "$suite" || true)}"
[[ -n "$mirror" ]] || die "no Debian mirror for $suite in the apt sources; set TRADEHIVE_DEBIAN_MIRROR"

rootfs="$(mktemp -d /tmp/tradehive-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap $suite from the configured mirror into $rootfs"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed"; }
rm -f "$rootfs.log"

# Leave no trace of the host's mirror (the images never run apt) and drop what
# a runtime never reads.
: >"$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
       "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old

py_version="$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
log "importing $image (Python $py_version)"
tar -C "$rootfs" --numeric-owner -c . | docker import \
    -c 'ENV LANG=C.UTF-8' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["python3"]' \
    -c "LABEL org.opencontainers.image.title=tradehive-base-local org.tradehive.python=$py_version" \
    -m "debootstrap --variant=minbase $suite + python3" - "$image" >/dev/null
log "built $image"
