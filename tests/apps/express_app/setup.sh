#!/usr/bin/env bash
# Installs express and stripe from package-lock.json into tests/apps/express_app/node_modules
# (git-ignored); does nothing when they are already there.
set -euo pipefail
cd "$(dirname "$0")"
if [[ node_modules/.package-lock.json -nt package-lock.json ]] && node -e "require('express'); require('stripe')" 2>/dev/null; then
  echo "express_app: dependencies up to date"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "express_app: dependencies installed"
