#!/usr/bin/env bash
# The web UI's build steps, shared by ./start and ./test:
#   services/ui/scripts/ui.sh build   install packages (npm ci from package-lock.json) when missing or changed, and build
#                                     dist/ when a source changed since the last build (a fingerprint decides); without
#                                     Node.js it says so and exits 0 (refinery runs without its UI)
#   services/ui/scripts/ui.sh check   build, plus: the API client matches the gateway's schema, tsc --noEmit, vitest
set -euo pipefail

UI="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$UI"
say() { echo "ui: $*"; }

have_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}

lock_hash() { sha256sum package-lock.json | cut -d' ' -f1; }

ensure_packages() {
    local stamp="node_modules/.refinery-lock-sha256"
    if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(lock_hash)" ]; then
        return 0
    fi
    say "installing the UI's packages (npm ci from package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
    lock_hash >"$stamp"
}

# Everything that decides what the build contains.
fingerprint() {
    {
        node --version
        local paths=(package.json package-lock.json index.html vite.config.ts tsconfig.json src)
        [ -d public ] && paths+=(public)
        find "${paths[@]}" -type f | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}

build() {
    if ! have_node; then
        say "Node.js 20.19+ and npm are not installed: the web UI is not built (the API works without it;" \
            "install Node.js, then run ./start again)"
        return 0
    fi
    ensure_packages
    local want stamp="dist/.refinery-build-fingerprint"
    want="$(fingerprint)"
    if [ -f dist/index.html ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "the web UI build is up to date"
        return 0
    fi
    say "building the web UI (npm run build)"
    npm run --silent build >/dev/null
    echo "$want" >"$stamp"
    say "built services/ui/dist"
}

check() {
    if ! have_node; then
        say "Node.js 20.19+ and npm are not installed: skipping the UI checks" >&2
        return 0
    fi
    ensure_packages
    say "API client matches the gateway's OpenAPI schema"
    npm run --silent check:api
    say "tsc --noEmit"
    npx tsc --noEmit
    say "vitest run"
    npx vitest run --reporter=dot
    build
}

case "${1:-}" in
    build) build ;;
    check) check ;;
    *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
