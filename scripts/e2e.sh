#!/usr/bin/env bash
# Runs Shengshi's browser tests (e2e/) against a built shengshi binary.
#
#   SHENGSHI_BIN=path/to/shengshi scripts/e2e.sh
#
# Optional: SHENGSHI_SCREENSHOTS=dir (default e2e/screenshots).
# Uses Debian's chromium, never a downloaded browser; installs it (and CJK
# fonts, without which Chinese screenshots are empty boxes) when missing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
e2e="$repo/e2e"

if [[ -z "${SHENGSHI_BIN:-}" ]]; then
  echo "error: set SHENGSHI_BIN to a built shengshi binary, e.g." >&2
  echo "  SHENGSHI_BIN=\$CARGO_TARGET_DIR/debug/shengshi scripts/e2e.sh" >&2
  exit 2
fi
# Resolve against the caller's directory: the tests run from e2e/.
SHENGSHI_BIN="$(realpath -- "$SHENGSHI_BIN")"
if [[ ! -x "$SHENGSHI_BIN" ]]; then
  echo "error: SHENGSHI_BIN=$SHENGSHI_BIN is not an executable file" >&2
  exit 2
fi
export SHENGSHI_BIN

SHENGSHI_SCREENSHOTS="$(realpath -m -- "${SHENGSHI_SCREENSHOTS:-$e2e/screenshots}")"
export SHENGSHI_SCREENSHOTS

# System packages the browser needs.
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ! command -v fc-list >/dev/null || [[ -z "$(fc-list :lang=zh 2>/dev/null)" ]]; then
  missing+=(fonts-noto-cjk)
fi
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "error: missing ${missing[*]}; as root: apt-get install ${missing[*]}" >&2
    exit 2
  fi
  echo "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y "${missing[@]}"
fi

cd "$e2e"

# npm ci only when needed: it deletes and rebuilds node_modules every time.
# npm writes node_modules/.package-lock.json last, so it also marks an
# install that finished.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

echo "screenshots: $SHENGSHI_SCREENSHOTS"
npm test
