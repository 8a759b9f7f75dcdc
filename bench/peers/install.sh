#!/usr/bin/env bash
# Installs the fake Stripe servers that stripe-sim is benchmarked against, locally under bench/
# (never globally), and prints where they are:
#
#   LOCALSTRIPE=<absolute path of the localstripe executable>
#   STATEFUL_MOCK=<absolute path of the JS entry to run with node>
#
# Those two lines are the only output on stdout (progress goes to stderr), so a caller can do
#   eval "$(bench/peers/install.sh)"
#
# - localstripe (PyPI) goes into a venv at bench/.peers/localstripe-venv (git-ignored); a stamp
#   file named after the pinned versions makes a re-run instant.
# - stripe-stateful-mock (npm) is pinned in bench/peers/package.json + package-lock.json and
#   installed by `npm ci` into bench/peers/node_modules (git-ignored by the node_modules/ rule).
#
# Needs python >= 3.9 with venv + pip, node >= 20 with npm, and the registries of PyPI and npm.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"

LOCALSTRIPE_VERSION="1.15.10"   # latest on PyPI; runs on Python 3.11 with the pins below
# localstripe only asks for aiohttp >= 2.3.2 and python-dateutil >= 2.6.1. Every package of the
# venv is pinned to the set that was verified (aiohttp 3.14 works on 3.11: no older pin needed),
# so that a new aiohttp release cannot silently change what the benchmark measures.
LOCALSTRIPE_PINS=(
  "localstripe==$LOCALSTRIPE_VERSION"
  "aiohttp==3.14.5"
  "aiohappyeyeballs==2.7.1"
  "aiosignal==1.4.0"
  "attrs==26.1.0"
  "frozenlist==1.8.0"
  "idna==3.20"
  "multidict==7.2.1"
  "propcache==0.5.4"
  "yarl==1.25.1"
  "typing_extensions==4.16.0"
  "python-dateutil==4.0.0"
  "tzdata==2026.6"
)
VENV="$BENCH/.peers/localstripe-venv"

log() { printf '== %s\n' "$*" >&2; }

# --- localstripe (PyPI) ----------------------------------------------------------------------
stamp="$VENV/.installed-localstripe-$LOCALSTRIPE_VERSION-aiohttp-3.14.5"
# The stamp alone is not trusted: a venv whose python is gone (python upgraded, machine rebuilt
# from a copied tree) is rebuilt too.
if [[ ! -f "$stamp" || ! -x "$VENV/bin/localstripe" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
  log "installing localstripe $LOCALSTRIPE_VERSION (bench/.peers/localstripe-venv)"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    "${LOCALSTRIPE_PINS[@]}" >&2
  touch "$stamp"
fi

# --- stripe-stateful-mock (npm) --------------------------------------------------------------
# npm ci reinstalls exactly what package-lock.json says (and fails if it disagrees with
# package.json); its stdout goes to stderr so that ours stays parseable.
log "installing stripe-stateful-mock (bench/peers/node_modules)"
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2)

STATEFUL_MOCK="$HERE/node_modules/stripe-stateful-mock/dist/cli.js"
[[ -f "$STATEFUL_MOCK" ]] || { echo "missing $STATEFUL_MOCK after npm ci" >&2; exit 1; }

# %q keeps the lines safe to eval even if the checkout path has spaces.
printf 'LOCALSTRIPE=%q\n' "$VENV/bin/localstripe"
printf 'STATEFUL_MOCK=%q\n' "$STATEFUL_MOCK"
