#!/usr/bin/env bash
# The official Stripe SDKs against stripe-sim: installs the pinned stripe-node and stripe-python
# into folders under tests/sdk/ (never globally), builds the async-stripe suite, starts the
# simulator on a free port with a manual clock, runs the Node suite, the Python suite and the
# async-stripe suite, and prints "N passed, M failed".
#
#   tests/sdk/run.sh            # node, python and rust (async-stripe)
#   SDK_SUITES=node tests/sdk/run.sh   # or python, or rust, or "node python"
#   STRIPE_SIM_ARGS="--api-version 2026-09-30.endive" tests/sdk/run.sh   # extra simulator flags
#
# Needs node >= 20 with npm, python >= 3.9 with pip, and the registries of npm and PyPI; the rust
# suite needs cargo and crates.io (its own Cargo project, tests/sdk/rust, built into its target/).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STRIPE_PYTHON_VERSION="16.1.0"   # stripe-node is pinned in node/package.json (+ lock file)
PYTEST_VERSION="9.2.0"
PY_DEPS="$HERE/.deps/python"
SUITES="${SDK_SUITES:-node python rust}"
API_KEY="sk_test_stripesim"

log() { printf '\n== %s\n' "$*"; }

# --- install the pinned SDKs locally ---------------------------------------------------------
if [[ " $SUITES " == *" node "* ]]; then
  log "installing stripe-node (tests/sdk/node/node_modules)"
  (cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ " $SUITES " == *" python "* ]]; then
  stamp="$PY_DEPS/.installed-stripe-$STRIPE_PYTHON_VERSION-pytest-$PYTEST_VERSION"
  if [[ ! -f "$stamp" ]]; then
    log "installing stripe-python $STRIPE_PYTHON_VERSION (tests/sdk/.deps/python)"
    rm -rf "$PY_DEPS"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
      --target "$PY_DEPS" "stripe==$STRIPE_PYTHON_VERSION" "pytest==$PYTEST_VERSION"
    touch "$stamp"
  fi
fi

# SDK_RUST_DIAGNOSE=1: build the async-stripe suite with serde impls that name the field a failed
# decode stops at (about 40% longer to build; off by default, CI included).
RUST_FEATURES=()
if [[ "${SDK_RUST_DIAGNOSE:-0}" == "1" ]]; then RUST_FEATURES=(--features diagnose); fi
if [[ " $SUITES " == *" rust "* ]]; then
  # async-stripe is large: the first build takes minutes; later ones reuse tests/sdk/rust/target.
  log "building the async-stripe suite (tests/sdk/rust)"
  built_from=$SECONDS
  cargo test --manifest-path "$HERE/rust/Cargo.toml" --locked --tests --no-run ${RUST_FEATURES[@]+"${RUST_FEATURES[@]}"} || echo "the async-stripe suite does not build"
  echo "async-stripe suite built in $((SECONDS - built_from)) s"
fi

# --- the simulator ---------------------------------------------------------------------------
SIM_BIN="${STRIPE_SIM_BIN:-}"
if [[ -z "$SIM_BIN" ]]; then
  log "building stripe-sim"
  (cd "$ROOT" && cargo build --quiet -p stripe-sim)
  SIM_BIN="$ROOT/target/debug/stripe-sim"
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
SIM_URL="http://127.0.0.1:$PORT"
SIM_LOG="$(mktemp -t stripe-sim-sdk.XXXXXX)"
# The simulator reads STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET from the environment: give it
# its settings explicitly so nothing exported in the caller's shell leaks in.
env -u STRIPE_SECRET_KEY -u STRIPE_WEBHOOK_SECRET -u STRIPE_SIM_FORWARD_TO \
  "$SIM_BIN" serve --port "$PORT" --api-key "$API_KEY" --clock manual --seed 1 ${STRIPE_SIM_ARGS:-} >"$SIM_LOG" 2>&1 &
SIM_PID=$!
cleanup() {
  kill "$SIM_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
  rm -f "$SIM_LOG"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  if curl -fsS "$SIM_URL/_sim/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SIM_PID" 2>/dev/null; then cat "$SIM_LOG"; echo "stripe-sim did not start"; exit 1; fi
  sleep 0.1
done
curl -fsS "$SIM_URL/_sim/health" >/dev/null
echo "stripe-sim on $SIM_URL"
export SIM_URL SIM_API_KEY="$API_KEY"

passed=0
failed=0

# --- Node: node --test, counted from its TAP summary -----------------------------------------
if [[ " $SUITES " == *" node "* ]]; then
  log "stripe-node $(node -p "require('$HERE/node/node_modules/stripe/package.json').version") suite"
  # The field-presence extract the Rust tests check objects against must still be what the
  # pinned package's types say.
  if (cd "$HERE/node" && node extract-types.mjs --check); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  # An app's view of the flows, typed with stripe-node's own types (strict tsc, no output).
  if (cd "$HERE/node" && npx --no-install tsc -p tsconfig.json); then
    echo "typed.ts compiles against stripe-node's types (tsc --strict --noEmit)"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  out="$(mktemp)"
  set +e
  (cd "$HERE/node" && node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$out" ./*.test.mjs)
  set -e
  p="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)"
  f="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)"
  if [[ -z "$p" || -z "$f" ]]; then echo "node suite produced no summary"; f=$(( ${f:-0} + 1 )); fi
  echo "node: ${p:-0} passed, ${f:-0} failed"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  rm -f "$out"
fi

# --- Python: pytest, counted from its JUnit report -------------------------------------------
if [[ " $SUITES " == *" python "* ]]; then
  log "stripe-python $STRIPE_PYTHON_VERSION suite"
  report="$(mktemp)"
  set +e
  (cd "$HERE/python" && PYTHONPATH="$PY_DEPS" PYTHONDONTWRITEBYTECODE=1 \
      python3 -m pytest -p no:cacheprovider -q -rfE --junitxml="$report" .)
  set -e
  counts="$(python3 - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad if tests else max(bad, 1))
PY
)"
  p="${counts% *}"; f="${counts#* }"
  echo "python: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
  rm -f "$report"
fi

# --- Rust: async-stripe, cargo test, counted from its "test result" lines ----------------------
if [[ " $SUITES " == *" rust "* ]]; then
  log "async-stripe suite (tests/sdk/rust)"
  out="$(mktemp)"
  decode_log="$(mktemp)"
  set +e
  # One test at a time: the webhook tests share one receiver and one endpoint.
  STRIPE_SIM_URL="$SIM_URL" STRIPE_SECRET_KEY="$API_KEY" SDK_DECODE_LOG="$decode_log" RUST_BACKTRACE=0 \
    cargo test --manifest-path "$HERE/rust/Cargo.toml" --locked --tests --no-fail-fast ${RUST_FEATURES[@]+"${RUST_FEATURES[@]}"} -- --test-threads=1 2>&1 | tee "$out"
  status="${PIPESTATUS[0]}"
  set -e
  p="$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')"
  f="$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed.*/\2/p' "$out" | awk '{s+=$1} END {print s+0}')"
  if [[ "$status" -ne 0 && "$f" -eq 0 ]]; then echo "rust suite failed to build or run"; f=1; fi
  python3 "$HERE/rust/summary.py" "$decode_log" || true
  echo "rust: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
  rm -f "$out" "$decode_log"
fi

echo
echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
