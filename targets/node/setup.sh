#!/usr/bin/env bash
# Installs the Node target's pinned dependencies (stripe, better-sqlite3) into
# targets/node/node_modules. better-sqlite3 compiles its native module with node-gyp when no
# prebuilt binary can be downloaded (this takes about a minute); the headers of the installed
# Node are used so that nothing has to be fetched from nodejs.org.
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${npm_config_nodedir:-}" ]]; then
  prefix="$(node -p 'require("path").resolve(process.execPath, "..", "..")')"
  if [[ -f "$prefix/include/node/node.h" ]]; then
    export npm_config_nodedir="$prefix"
  fi
fi

# Already installed from this lock file and loadable by this Node: nothing to do.
if [[ node_modules/.package-lock.json -nt package-lock.json ]] &&
  node -e "new (require('better-sqlite3'))(':memory:').close(); require('stripe')" 2>/dev/null; then
  echo "targets/node: dependencies up to date"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
node -e "new (require('better-sqlite3'))(':memory:').close(); require('stripe')"
echo "targets/node: dependencies installed"
