#!/usr/bin/env bash
# The whole test suite: unit tests, the storage contract on SQLite and
# PostgreSQL, integration tests against the real server, then the browser tests.
#
#   scripts/test.sh
#
# Installs or starts what the tests need (PostgreSQL, Chromium, Node packages).
# Set SHENGSHI_TEST_POSTGRES_URL to use a PostgreSQL of your own instead.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# Builds are slow on small machines: keep them in one cache shared by every checkout.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shengshi-target}"
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  if [[ $EUID -ne 0 ]]; then
    echo "error: $* is missing; install it (apt-get install $*) or run as root" >&2
    exit 2
  fi
  if [[ -z "${apt_updated:-}" ]]; then apt-get update -qq; apt_updated=1; fi
  apt-get install -y -qq "$@"
}

ensure_postgres() {
  if [[ -n "${SHENGSHI_TEST_POSTGRES_URL:-}" ]]; then
    echo "using PostgreSQL at the URL in SHENGSHI_TEST_POSTGRES_URL"
    return
  fi
  command -v pg_isready >/dev/null || apt_install postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    echo "starting PostgreSQL $version"
    if ! pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null; then
      pg_ctlcluster "$version" main start
    fi
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  # The tests connect as postgres over TCP without a password (trust), to database "test".
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    local hba
    hba="$(su postgres -c "psql -Atqc 'show hba_file'")"
    echo "allowing local trust authentication for tests in $hba"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
  fi
  if [[ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1 from pg_database where datname = 'test'")" != 1 ]]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test'
  fi
}

ensure_postgres
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# `cargo test` (not a build first): dev-dependencies change features, and a
# separate build would compile much of the tree twice.
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"

echo
echo "storage contract and integration tests per backend:"
for backend in sqlite postgres; do
  passed=$(grep -cE "^test ${backend}::.* \.\.\. ok$" "$log" || true)
  echo "  ${backend}: ${passed} passed"
done
skipped=$(grep -c "^SKIPPED" "$log" || true)
if [[ "$skipped" != 0 ]]; then
  echo "  WARNING: ${skipped} PostgreSQL tests were SKIPPED (PostgreSQL unreachable)"
fi

SHENGSHI_BIN="$CARGO_TARGET_DIR/debug/shengshi" "$repo/scripts/e2e.sh"
