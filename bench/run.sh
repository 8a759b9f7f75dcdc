#!/usr/bin/env bash
# The benchmark command: installs the peers (localstripe from PyPI, stripe-stateful-mock from npm)
# under bench/, builds stripe-sim and stripe-bench in release, and prints one table comparing
# them. Arguments go to stripe-bench (`--quick`, `--only api,webhooks,harness,scale`, `--out FILE`;
# see `target/release/stripe-bench --help`).
#
#   bench/run.sh                   # the full run (about 12 minutes on 2 cores)
#   bench/run.sh --quick           # shorter windows, 100,000 sessions (about 3 minutes)
#   bench/run.sh --smoke --strict  # everything once, tiny; fails if any measurement fails (CI)
#
# Needs the Rust toolchain, python >= 3.9 with venv + pip, node >= 20 with npm, and the registries
# of PyPI and npm. Run it on an otherwise idle machine: the figures are only as quiet as it is.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

eval "$(bench/peers/install.sh)"
cargo build --release --quiet -p stripe-sim -p stripe-bench
LOCALSTRIPE="$LOCALSTRIPE" STATEFUL_MOCK="$STATEFUL_MOCK" exec target/release/stripe-bench "$@"
