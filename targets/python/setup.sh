#!/usr/bin/env bash
# Creates targets/python/.venv (git-ignored) and installs the pinned requirements into it.
# Does nothing when the venv already holds exactly these pins. PYTHON picks the interpreter
# (default python3, which must be 3.10 or newer).
set -euo pipefail
cd "$(dirname "$0")"

python="${PYTHON:-python3}"
stamp=.venv/.requirements.txt

if [[ -x .venv/bin/python && -f $stamp ]] && cmp -s requirements.txt "$stamp" &&
  .venv/bin/python -c 'import fastapi, uvicorn, stripe' 2>/dev/null; then
  echo "targets/python: dependencies up to date"
  exit 0
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "targets/python: needs Python 3.10 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
rm -rf .venv
"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input \
  --only-binary=:all: -r requirements.txt
.venv/bin/python -m pip check --disable-pip-version-check >/dev/null
.venv/bin/python -c 'import fastapi, uvicorn, stripe'
cp requirements.txt "$stamp"
echo "targets/python: dependencies installed"
