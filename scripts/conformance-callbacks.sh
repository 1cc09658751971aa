#!/usr/bin/env bash
# Callback conformance against wechatpy, an implementation nobody here wrote: 1 000 distinct
# messages encrypted by wechatpy to an Official Account in safe mode, 1 000 more after
# switching it to compatible mode, and 1 000 to a WeCom app (receive id = CorpID); every
# passive reply must decrypt and validate with wechatpy and carry the reply of the rule that
# rules.json picks; forged requests must get no encrypted reply. Uses the harness of
# ../shared/bench/callback (its venv: setup_env.sh).
#
#   scripts/conformance-callbacks.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${BENCH_DIR:-$PWD/../shared/bench/callback}"
count="${1:-1000}"
port="${PORT:-18095}"
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
"$bin" admin --data-dir "$data" create-api-key --name conformance --scopes admin --output "$out/key" >/dev/null
key="$(cat "$out/key")"
QIAO_LOG_LEVEL=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$out/qiao.log" 2>&1 &
qiao=$!
trap 'kill $qiao 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
"$py" scripts/bench/register.py "$bench" "$port" "$key" >"$out/registered.json"
get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$out/registered.json" "$1"; }

check() { # label mode path
  "$py" "$bench/gen_requests.py" --count "$count" --path "$3" --mode "$2" --out "$out/$1" >/dev/null
  echo "== $1"
  "$py" "$bench/check_reply.py" --base-url "http://127.0.0.1:$port" --jsonl "$out/$1.jsonl" --count "$count" --negative
}
check oa-safe mp "$(get oa_path)"
curl -fsS -X PATCH -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d '{"mode":"compatible"}' "http://127.0.0.1:$port/api/v1/callbacks/$(get oa_receiver)" >/dev/null
check oa-compatible mp "$(get oa_path)"
check wecom wecom "$(get wecom_path)"

echo "== wecom URL verification (echostr encrypted by wechatpy)"
"$py" - "$bench" "$port" "$(get wecom_path)" <<'PY'
import sys, time, random
import requests
sys.path.insert(0, sys.argv[1])
import wxbench
d = wxbench.DEFAULTS
port, path = sys.argv[2], sys.argv[3]
passed = failed = 0
for i in range(20):
    plain = str(random.randrange(10**18, 10**19))
    echostr = wxbench.encrypt_for(d["aes_key"], d["appid"], plain)
    ts, nonce = str(int(time.time())), str(random.randrange(10**9))
    sig = wxbench._get_signature(d["token"], ts, nonce, echostr)
    r = requests.get(f"http://127.0.0.1:{port}{path}",
                     params={"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr})
    if r.status_code == 200 and r.text == plain:
        passed += 1
    else:
        failed += 1
        print(f"echostr {i}: HTTP {r.status_code} {r.text[:80]!r}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
