#!/usr/bin/env bash
# WeCom answers 45009 (frequency limit) on user/get for 30 s while a business system keeps
# reading members through Qiao: every call must end in success, none lost. Runs a real
# `qiao serve` (default retry settings unless QIAO_WECHAT_RETRY_* are set) against a real
# `wxsim`, and prints the calls, successes, Qiao's retries and back-off delay (from
# /metrics), the calls Qiao answered 503 + Retry-After (its retry budget spent) that the
# client then repeated, and the simulator's count of refused and answered requests.
#
#   scripts/wecom-45009.sh [FAULT_SECONDS] [CALLS_PER_SECOND]
#
# QIAO_TEST_BIN / WXSIM_BIN name prebuilt binaries (needed when the target directory is
# shared with other checkouts of the workspace: cargo may leave their build in target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
fault_secs="${1:-30}"
rate="${2:-5}"
port="${PORT:-18099}"
sim_port="${SIM_PORT:-18098}"
out="$(mktemp -d)"
qiao_bin="${QIAO_TEST_BIN:-}"
sim_bin="${WXSIM_BIN:-}"
if [ -z "$qiao_bin" ] || [ -z "$sim_bin" ]; then
  cargo build -p qiao -p wxsim --quiet
  # Copied at once: a target directory shared with other checkouts may be rebuilt under us.
  cp "${CARGO_TARGET_DIR:-target}/debug/qiao" "${CARGO_TARGET_DIR:-target}/debug/wxsim" "$out/"
  qiao_bin="$out/qiao"
  sim_bin="$out/wxsim"
fi
trap 'kill ${qiao:-0} ${sim:-0} 2>/dev/null || true; rm -rf "$out"' EXIT

"$sim_bin" --demo --dump-seed >"$out/seed.toml"
"$sim_bin" --listen "127.0.0.1:$sim_port" --seed "$out/seed.toml" >"$out/wxsim.log" 2>&1 &
sim=$!
data="$out/data"
"$qiao_bin" admin --data-dir "$data" create-api-key --name wecom-45009 --scopes admin --output "$out/key" >/dev/null
QIAO_LOG_LEVEL=warn "$qiao_bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$out/qiao.log" 2>&1 &
qiao=$!
for url in "http://127.0.0.1:$port/readyz" "http://127.0.0.1:$sim_port/sim"; do
  for _ in $(seq 1 100); do curl -fs "$url" >/dev/null && break; sleep 0.1; done
done

python3 - "http://127.0.0.1:$port" "http://127.0.0.1:$sim_port" "$out/key" "$out/seed.toml" "$fault_secs" "$rate" <<'PY'
import json, re, sys, threading, time, tomllib, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor

qiao, sim, key_file, seed_file = sys.argv[1:5]
fault_secs, rate = int(sys.argv[5]), float(sys.argv[6])
key = open(key_file).read().strip()
USER_GET = "/cgi-bin/user/get"

def call(method, url, body=None, auth=True):
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()

corp = tomllib.load(open(seed_file, "rb"))["corps"][0]
app = corp["apps"][0]
members = [m["userid"] for m in corp["members"] if m.get("status", 1) == 1]
status, _, body = call("POST", f"{qiao}/api/v1/channels", {
    "kind": "wecom_corp", "name": corp["name"], "corp_id": corp["corpid"],
    "endpoints": {"api_base_url": f"{sim}/qyapi", "oauth_base_url": f"{sim}/open",
                  "web_login_base_url": f"{sim}/login"}})
assert status == 201, body
status, _, body = call("POST", f"{qiao}/api/v1/channels", {
    "kind": "wecom_app", "corp": json.loads(body)["id"], "name": app["name"],
    "agent_id": app["agentid"], "secret": app["secret"]})
assert status == 201, body
channel = json.loads(body)["id"]
credential = f'{corp["corpid"]}/{app["agentid"]}'

def metrics():
    text = call("GET", f"{qiao}/metrics", auth=False)[2]
    def total(pattern):
        return sum(float(m.group(1)) for m in re.finditer(pattern + r"\s+(\S+)", text))
    return {
        "retries": total(r'qiao_wechat_api_retries_total\{api="/cgi-bin/user/get",reason="45009"\}'),
        "delay_sum": total(r'qiao_wechat_retry_delay_seconds_sum\{api="/cgi-bin/user/get"\}'),
        "delay_count": total(r'qiao_wechat_retry_delay_seconds_count\{api="/cgi-bin/user/get"\}'),
    }

lock = threading.Lock()
stats = {"calls": 0, "ok": 0, "repeated_after_503": 0, "other_errors": 0, "latencies": []}

def read_member(i):
    """One logical read; on 503 + Retry-After (Qiao's budget spent) the client waits and repeats."""
    userid = members[i % len(members)]
    started = time.monotonic()
    while True:
        status, headers, body = call("GET", f"{qiao}/api/v1/channels/{channel}/members/{userid}")
        if status == 200 and json.loads(body)["userid"] == userid:
            with lock:
                stats["ok"] += 1
                stats["latencies"].append(time.monotonic() - started)
            return
        if status == 503 and headers.get("Retry-After"):
            with lock:
                stats["repeated_after_503"] += 1
            time.sleep(int(headers["Retry-After"]))
            continue
        with lock:
            stats["other_errors"] += 1
        print(f"unexpected answer {status}: {body}", file=sys.stderr)
        return

status, _, body = call("GET", f"{qiao}/api/v1/channels/{channel}/members/{members[0]}")
assert status == 200, body
call("DELETE", f"{sim}/sim/requests", auth=False)
before = metrics()
status, _, body = call("POST", f"{sim}/sim/faults", {
    "path": USER_GET, "role": "qyapi", "errcode": 45009, "for_secs": fault_secs}, auth=False)
assert status == 200, body
t0 = time.monotonic()
# A burst when the limit starts, then a steady stream until 5 s after it ends.
with ThreadPoolExecutor(max_workers=256) as pool:
    futures = [pool.submit(read_member, i) for i in range(50)]
    n = 50
    while time.monotonic() - t0 < fault_secs + 5:
        time.sleep(1 / rate)
        futures.append(pool.submit(read_member, n))
        n += 1
    for f in futures:
        f.result()
stats["calls"] = n
wall = time.monotonic() - t0
after = metrics()
log = json.loads(call("GET", f"{sim}/sim/requests?path={USER_GET}&credential={credential}&limit=1", auth=False)[2])
lat = sorted(stats["latencies"])
lost = stats["calls"] - stats["ok"]
print(f"fault: WeCom 45009 on {USER_GET} for {fault_secs} s; load: 50 at once, then {rate:g}/s for {fault_secs + 5} s; wall time {wall:.1f} s")
print(f"calls: {stats['calls']}, successes: {stats['ok']}, lost: {lost}, other errors: {stats['other_errors']}")
print(f"Qiao retries (45009): {after['retries'] - before['retries']:.0f}, back-off delays: "
      f"{after['delay_count'] - before['delay_count']:.0f} totalling {after['delay_sum'] - before['delay_sum']:.1f} s")
print(f"answered 503 + Retry-After (retry budget spent) and repeated by the client: {stats['repeated_after_503']}")
if lat:
    print(f"latency per call: median {lat[len(lat) // 2]:.1f} s, max {lat[-1]:.1f} s")
print(f"simulator, {USER_GET}: {log['total']} requests, by errcode {log['by_errcode']}")
sys.exit(0 if lost == 0 and stats["other_errors"] == 0 else 1)
PY
