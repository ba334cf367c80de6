#!/usr/bin/env bash
# What `make bench` needs beyond the Python packages, installed from Debian when missing:
# wrk (the HTTP load generator), PostGIS for the PostgreSQL the benchmarks use (the anchor of
# the lookup and tile benchmarks), Chromium and CJK fonts (the overview page loads).
# PostgreSQL is started when it is installed here but not listening on 127.0.0.1:5432.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432

log() { printf '== %s\n' "$*"; }

as_root() {
  if ((EUID == 0)); then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2
    return 1
  fi
}

ensure_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    # Other sessions may hold dpkg's lock for a while: wait for it rather than fail.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
  fi
}

port_open() { (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; }

ensure_postgres() {
  if ! port_open; then
    local cluster
    cluster="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [[ -z "$cluster" ]]; then
      echo "PostgreSQL is neither listening on $PG_HOST:$PG_PORT nor installed" >&2
      return 1
    fi
    log "starting PostgreSQL $cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
    for _ in $(seq 30); do port_open && break; sleep 1; done
  fi
}

psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAqc "$1"; }

if ! command -v dpkg >/dev/null; then
  echo "not a Debian system: install wrk, PostGIS 3 for your PostgreSQL and Chromium yourself" >&2
  exit 0
fi
ensure_apt wrk postgresql-client chromium fonts-noto-cjk
ensure_postgres
# PostGIS must match the server's major version (postgresql-15-postgis-3 for PostgreSQL 15).
major="$(psql_admin 'SHOW server_version_num')"
major="${major:0:${#major}-4}"
ensure_apt "postgresql-$major-postgis-3"
if [[ "$(psql_admin "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")" != 1 ]]; then
  echo "PostgreSQL at $PG_HOST:$PG_PORT offers no postgis extension" >&2
  exit 1
fi
log "bench tools ready: wrk $(wrk --version 2>&1 | awk 'NR == 1 {print $2}'), PostgreSQL $major with PostGIS"
