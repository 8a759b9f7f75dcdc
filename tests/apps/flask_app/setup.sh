#!/usr/bin/env bash
# Installs the pinned requirements into tests/apps/flask_app/.venv (git-ignored); does nothing
# when they are already there.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -x .venv/bin/python ]] && cmp -s requirements.txt .venv/.requirements.txt; then
  echo "flask_app: dependencies up to date"
  exit 0
fi
rm -rf .venv
"${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r requirements.txt
cp requirements.txt .venv/.requirements.txt
echo "flask_app: dependencies installed"
