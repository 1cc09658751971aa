#!/usr/bin/env bash
# Callback load benchmark: Qiao against the peers of ../shared/bench/callback, in one sitting,
# under the loader that encrypts every request as it sends it (cbload: every MsgId new, so no
# request takes Qiao's "already seen" path).
#
#   scripts/bench-callbacks.sh            # Qiao (SQLite), then rust-ref and starlette-uvicorn
#   PEERS="" scripts/bench-callbacks.sh   # Qiao only
#   DURATION=20 ROUNDS=2 ...              # passed to the harness
#   FILLER_RULES=150 ...                  # 200 rules instead of the harness's 50
#
# It builds the release binary, starts `qiao serve` on a fresh SQLite data directory,
# registers the benchmark account (Token, EncodingAESKey, AppID of the harness) as an
# Official Account in safe mode with the harness's 50 rules created in id order, and runs
# the harness's run_bench.sh against its callback URL. Results: $OUT/results.jsonl and a
# table from report.py.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bench="${BENCH_DIR:-$root/../shared/bench/callback}"
out="${OUT:-/tmp/qiao-cbbench}"
port="${PORT:-18090}"
export LOADER="${LOADER:-cbload}" DURATION="${DURATION:-20}" ROUNDS="${ROUNDS:-1}"
export RESULTS="$out/results.jsonl"
mkdir -p "$out"

venv="${CBBENCH_VENV:-/tmp/cbbench-venv}"
[ -x "$venv/bin/python" ] || CBBENCH_VENV="$venv" "$bench/setup_env.sh"
py="$venv/bin/python"

cargo build --release -p qiao --quiet
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/qiao"

data="$(mktemp -d)"
"$bin" admin --data-dir "$data" create-api-key --name bench --scopes admin --output "$data/key" >/dev/null
key="$(cat "$data/key")"
QIAO_LOG_LEVEL=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$out/qiao.log" 2>&1 &
qiao=$!
trap 'kill $qiao 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

"$py" scripts/bench/register.py "$bench" "$port" "$key" >"$out/registered.json"
path="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["oa_path"])' "$out/registered.json")"
echo "Qiao's benchmark callback: $path"

rules=$((50 + ${FILLER_RULES:-0}))
LABEL=qiao CONFIG="qiao serve, SQLite, group commit, $rules rules" "$bench/run_bench.sh" "$path" "$port"
kill $qiao 2>/dev/null || true

for peer in ${PEERS-rust-ref starlette-uvicorn}; do
  PORT=$((port + 1)) "$bench/peers/$peer/start.sh" >"$out/$peer.log" 2>&1 &
  peer_pid=$!
  # A peer may build itself on first start (rust-ref: cargo build --release).
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null && break
    sleep 0.5
  done
  LABEL=$peer "$bench/run_bench.sh" /wechat $((port + 1)) || true
  kill -- -$peer_pid 2>/dev/null || kill $peer_pid 2>/dev/null || true
  pkill -f "peers/$peer" 2>/dev/null || true
  sleep 1
done

"${CBBENCH_VENV:-/tmp/cbbench-venv}/bin/python" "$bench/report.py" "$RESULTS" | tee "$out/table.md"
