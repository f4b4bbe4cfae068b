# Shared setup for scripts/run, scripts/test and scripts/bench: each installs
# what it needs on a fresh machine that has only Python 3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "error: need root to run: $*" >&2; return 1; fi
}

apt_install() {
    if [ -z "${_APT_UPDATED:-}" ]; then as_root apt-get update -qq; _APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_uv() {
    # uv on PATH, or where an earlier run installed it with `pip install --user`
    # (~/.local/bin is not always on PATH, and inside `uv run` python3 is the
    # project's virtualenv, which does not see user site-packages).
    local candidate
    for candidate in "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then UV=("$candidate"); return; fi
    done
    echo "==> installing uv" >&2
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
    UV=("$(python3 -c 'import uv; print(uv.find_uv_bin())')")
}

ensure_python_deps() {
    ensure_uv
    "${UV[@]}" sync --frozen --quiet
}

# A local, gitignored .env read by the settings (the environment wins): a
# generated SECRET_KEY, and DEBUG=1 for the development server ("dev"), so every
# manage.py command runs on a fresh clone without exporting anything.
# PYINDEX_ENV_FILE names another file; empty: none.
ensure_env_file() {
    local file="${PYINDEX_ENV_FILE-$ROOT/.env}"
    if [ -z "$file" ]; then return; fi
    if [ ! -f "$file" ]; then
        printf '# Written by scripts/run or scripts/test for this checkout; not for production.\n' >"$file"
        chmod 600 "$file"
    fi
    if ! grep -q '^SECRET_KEY=' "$file"; then
        echo "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')" >>"$file"
    fi
    if [ "${1:-}" = dev ] && ! grep -q '^DEBUG=' "$file"; then echo "DEBUG=1" >>"$file"; fi
}

# This checkout's local MongoDB-compatible server, unless MONGODB_URI names a server.
ensure_local_mongo() {
    if [ -n "${MONGODB_URI:-}" ]; then return; fi
    "${UV[@]}" run --frozen python -m project.local_mongo start
}

pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_postgres_binaries() {
    if [ -z "$(pg_bindir)" ]; then
        echo "==> installing PostgreSQL" >&2
        apt_install postgresql
    fi
}

ensure_chromium() {
    if ! command -v chromium >/dev/null 2>&1; then
        echo "==> installing Chromium" >&2
        apt_install chromium chromium-driver
    fi
}

# The port of this checkout's own PostgreSQL server: derived from the checkout's
# path, so two clones testing at once never share (or drop) each other's
# databases. PYINDEX_PG_PORT overrides it.
pg_port() {
    if [ -n "${PYINDEX_PG_PORT:-}" ]; then echo "$PYINDEX_PG_PORT"; return; fi
    echo $((22000 + $(printf '%s' "$ROOT" | cksum | cut -d' ' -f1) % 5000))
}

# Start this checkout's private PostgreSQL server for the tests (never as root:
# as the postgres user when we are root). Reused while it runs; refuses a port
# held by another server (another checkout's, or a system one). Exports
# DATABASE_URL.
start_postgres() {
    ensure_postgres_binaries
    local bindir port datadir sockdir
    bindir="$(pg_bindir)"
    port="$(pg_port)"
    datadir="${PYINDEX_PG_DATA:-/tmp/pyindex-pg-$port}"
    sockdir="/tmp"
    local run=()
    if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        local served
        served="$("$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc \
            'show data_directory' 2>/dev/null || true)"
        if [ "$(realpath -m "$served")" != "$(realpath -m "$datadir")" ]; then
            echo "error: port $port is held by another PostgreSQL server (data: ${served:-unknown});" \
                "set PYINDEX_PG_PORT to a free port" >&2
            return 1
        fi
    else
        if [ ! -s "$datadir/PG_VERSION" ]; then
            mkdir -p "$datadir"
            [ "$(id -u)" = 0 ] && chown postgres: "$datadir"
            "${run[@]}" "$bindir/initdb" -D "$datadir" -U postgres -A trust -E UTF8 \
                --locale=C.UTF-8 >/dev/null
        fi
        echo "==> starting PostgreSQL on 127.0.0.1:$port (data: $datadir)" >&2
        # A private development and test server: no durability settings, and no
        # WAL for the bulk loads (wal_level=minimal skips it for COPY into a table
        # truncated in the same transaction, as seed_catalog does).
        "${run[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w \
            -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=minimal -c max_wal_senders=0 -c max_connections=200" \
            start >/dev/null
    fi
    local db="${PYINDEX_PG_DB:-pyindex}"
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" 2>/dev/null || true
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db"
}
