#!/usr/bin/env bash
# Nothing answered is lost: load Qiao's callback endpoint with distinct encrypted messages,
# kill -9 it mid-load, restart it on the same data, and check that every MsgId that received
# an answer is in the inbox.
#
#   scripts/kill9-callbacks.sh [SECONDS_BEFORE_KILL] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${BENCH_DIR:-$PWD/../shared/bench/callback}"
secs="${1:-10}"
rounds="${2:-3}"
port="${PORT:-18097}"
out="$(mktemp -d)"
venv="${CBBENCH_VENV:-/tmp/cbbench-venv}"
[ -x "$venv/bin/python" ] || CBBENCH_VENV="$venv" "$bench/setup_env.sh"
py="$venv/bin/python"
bin="${QIAO_TEST_BIN:-}"
if [ -z "$bin" ]; then
  cargo build -p qiao --quiet
  bin="${CARGO_TARGET_DIR:-target}/debug/qiao"
fi
data="$out/data"
"$bin" admin --data-dir "$data" create-api-key --name kill9 --scopes admin --output "$out/key" >/dev/null
key="$(cat "$out/key")"
start() {
  QIAO_LOG_LEVEL=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >>"$out/qiao.log" 2>&1 &
  qiao=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "qiao did not start" >&2; exit 1
}
trap 'kill -9 ${qiao:-0} 2>/dev/null || true; rm -rf "$out"' EXIT
start
"$py" scripts/bench/register.py "$bench" "$port" "$key" >"$out/registered.json"
path="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["oa_path"])' "$out/registered.json")"

for round in $(seq 1 "$rounds"); do
  "$py" scripts/bench/kill9_load.py "$bench" "http://127.0.0.1:$port" "$path" "$out/answered" &
  load=$!
  sleep "$secs"
  kill -9 "$qiao"
  wait "$load" || true
  start
done

# Every answered MsgId must be in the inbox.
"$py" - "$port" "$key" "$out/answered" <<'PY'
import json, sys, urllib.request
port, key, answered = sys.argv[1], sys.argv[2], sys.argv[3]
want = {line.strip() for line in open(answered) if line.strip()}
have, before = set(), None
while True:
    url = f"http://127.0.0.1:{port}/api/v1/inbox?limit=500" + (f"&before={before}" if before else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    page = json.load(urllib.request.urlopen(req))
    if not page:
        break
    have.update(str(e["payload"].get("MsgId")) for e in page)
    before = page[-1]["id"]
lost = want - have
print(f"answered: {len(want)}, in the inbox: {len(want & have)}, stored but unanswered (killed mid-reply): {len(have - want)}")
print(f"{len(want) - len(lost)} passed, {len(lost)} failed")
sys.exit(1 if lost else 0)
PY
