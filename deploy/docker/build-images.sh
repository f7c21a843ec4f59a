#!/usr/bin/env bash
# Build the role images: the final stages of the one Dockerfile (`--target <role>`, context: repository root).
#
# usage: deploy/docker/build-images.sh [--offline|--online] [ROLE...]
#   --offline (default here): base tradehive/base-local:bookworm (built if missing)
#              + host-built wheelhouse, `pip install --no-index` inside the build
#   --online:  BASE_IMAGE=python:3.12-slim from a registry, packages from the index
#   ROLE...:   a subset of: nameserver feeder router brain trader (default: all
#              whose services/<role> package exists)
# env: TRADEHIVE_IMAGE_PREFIX (default tradehive), TRADEHIVE_TAG (default latest),
#      TRADEHIVE_BASE_IMAGE (offline base tag)
# Images are tagged ${TRADEHIVE_IMAGE_PREFIX}/<role>:${TRADEHIVE_TAG}, the names
# deploy/docker-compose.yml uses.
set -euo pipefail
# shellcheck source=deploy/docker/lib.sh
source "$(dirname "$0")/lib.sh"

mode=offline
roles=()
for arg in "$@"; do
    case "$arg" in
        --offline) mode=offline ;;
        --online) mode=online ;;
        -*) die "unknown option $arg" ;;
        *) roles+=("$arg") ;;
    esac
done
if ((${#roles[@]} == 0)); then
    for role in "${TRADEHIVE_ROLES[@]}"; do
        if [[ -f "$TRADEHIVE_ROOT/services/$role/pyproject.toml" ]]; then
            roles+=("$role")
        else
            log "skipping $role: services/$role has no code yet"
        fi
    done
fi

prefix="${TRADEHIVE_IMAGE_PREFIX:-tradehive}"
tag="${TRADEHIVE_TAG:-latest}"
"$TRADEHIVE_ROOT/deploy/docker/export-requirements.sh" --check

args=()
if [[ $mode == offline ]]; then
    base="${TRADEHIVE_BASE_IMAGE:-tradehive/base-local:bookworm}"
    TRADEHIVE_BASE_IMAGE="$base" "$TRADEHIVE_ROOT/deploy/docker/build-base.sh"
    "$TRADEHIVE_ROOT/deploy/docker/build-wheelhouse.sh"
    args+=(--build-arg "BASE_IMAGE=$base" --build-arg WHEELHOUSE=1)
    # the viz stage installs Qt's X11 client libraries with apt: the local base has no sources of its own
    mirror="${TRADEHIVE_DEBIAN_MIRROR:-$(debian_mirror bookworm || true)}"
    [[ -n "$mirror" ]] && args+=(--build-arg "DEBIAN_MIRROR=$mirror")
else
    # Keep a stale wheelhouse out of the context of an online build.
    [[ -d "$TRADEHIVE_ROOT/deploy/docker/wheelhouse" ]] && log "note: online build ignores deploy/docker/wheelhouse"
fi

for role in "${roles[@]}"; do
    image="$prefix/$role:$tag"
    log "building $image ($mode)"
    start=$SECONDS
    # The legacy builder, like testcontainers and the compose tests use: no BuildKit features.
    DOCKER_BUILDKIT=0 docker build --quiet "${args[@]}" \
        -f "$TRADEHIVE_DOCKERFILE" --target "$role" -t "$image" "$TRADEHIVE_ROOT" >/dev/null
    log "built $image in $((SECONDS - start)) s"
done
