# Helpers of deploy/compose-up and deploy/compose-down (sourced; ROOT is the repository root).

say() { echo "docker: $*" >&2; }
die() { echo "docker: $*" >&2; exit 1; }

# docker compose v2 where it exists, else docker-compose v1 (Debian 12's package).
compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose "$@"
    elif command -v docker-compose >/dev/null 2>&1; then
        docker-compose "$@"
    else
        die "neither 'docker compose' nor 'docker-compose' is installed (Debian: apt-get install docker-compose)"
    fi
}

# The compose files of a mode (hub or local) into COMPOSE_FILES.
compose_files() {
    COMPOSE_FILES=(-f "$ROOT/docker-compose.yml")
    [ "$1" = local ] && COMPOSE_FILES+=(-f "$ROOT/docker-compose.local.yml")
    return 0
}

# Whether Docker Hub's registry answers (401 without credentials means it does).
docker_hub_reachable() {
    python3 - <<'PY' >/dev/null 2>&1
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen("https://registry-1.docker.io/v2/", timeout=8)
except urllib.error.HTTPError:
    sys.exit(0)
except Exception:
    sys.exit(1)
PY
}

# The CPU build of torch from pip's find-links folder (pip config, $PIP_FIND_LINKS) into deploy/wheels, so that the
# embedder's image installs it instead of downloading one; without one the build takes torch from PyTorch's CPU index.
link_torch_wheel() {
    local target="$ROOT/deploy/wheels" folder wheel
    compgen -G "$target/torch-*.whl" >/dev/null && return 0
    local folders
    # sed exits 2 when one of the files is missing (pipefail would end the script here): that is no error
    folders="${PIP_FIND_LINKS:-} $({ sed -n 's/^ *find-links *= *//p' /etc/pip.conf /etc/xdg/pip/pip.conf \
        "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" 2>/dev/null || true; } | tr '\n' ' ')"
    for folder in $folders; do
        folder="${folder#file://}"
        for wheel in "$folder"/torch-*+cpu-cp311-*linux*x86_64.whl; do
            [ -f "$wheel" ] || continue
            ln "$wheel" "$target/" 2>/dev/null || cp "$wheel" "$target/"
            say "torch for the embedder's image: $(basename "$wheel") (from $folder)"
            return 0
        done
    done
    say "no CPU torch wheel in pip's find-links: the embedder's image takes torch from PyTorch's CPU index"
}

# Poll a health URL until it answers 200 (every service ok), at most $2 seconds.
wait_healthy() {
    python3 - "$1" "$2" <<'PY'
import json, sys, time, urllib.error, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
deadline, last = time.monotonic() + limit, "no answer yet"
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                sys.exit(0)
    except urllib.error.HTTPError as error:
        try:
            services = json.load(error).get("services", {})
            last = ", ".join(f"{name}: {item.get('status')}" for name, item in services.items())
        except Exception:
            last = f"HTTP {error.code}"
    except Exception as error:
        last = str(error)
    time.sleep(3)
print(f"not healthy after {limit:.0f} s: {last}", file=sys.stderr)
sys.exit(1)
PY
}

# The containers of the compose files in COMPOSE_FILES that restarted or are not healthy, each with the end of its log
# (what a crash while starting said). With "all" every such container; with "restarted" only those that restarted.
show_trouble() {
    local which="${1:-all}" id name restarts state health
    for id in $(compose "${COMPOSE_FILES[@]}" ps -q 2>/dev/null); do
        read -r name restarts state health < <(docker inspect -f \
            '{{.Name}} {{.RestartCount}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' "$id")
        if [ "$restarts" = 0 ] && { [ "$which" = restarted ] || [ "$health" = healthy ] || [ "$health" = - ]; }; then
            continue
        fi
        say "${name#/}: $state, health $health, restarted $restarts times; the end of its log:"
        docker logs --tail 25 "$id" 2>&1 | sed 's/^/    /' >&2
    done
}
