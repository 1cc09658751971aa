#!/usr/bin/env python3
"""Registers the benchmark account of ../shared/bench/callback in a running Qiao through its
API: an Official Account (receiver in safe mode) and a WeCom corp + app (CorpID = the
harness's AppID, AgentID 1000002), both with the harness's Token and EncodingAESKey, turned
on, with the 50 rules of rules.json created in id order. Prints JSON with the callback paths.
FILLER_RULES=N adds N rules that never match (priority 100, after the harness's), to see how
the hot path scales with the number of rules (a channel has at most 200).

  register.py BENCH_DIR PORT API_KEY
"""
import os
import json
import sys
import urllib.request

bench, port, key = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, bench)
import wxbench  # noqa: E402

d = wxbench.DEFAULTS
base = f"http://127.0.0.1:{port}/api/v1"


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data,
                                 headers={"Authorization": f"Bearer {key}", "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


def receiver(channel):
    r = call("POST", f"/channels/{channel}/callbacks",
             {"mode": "safe", "token": d["token"], "encoding_aes_key": d["aes_key"]})
    call("PATCH", f"/callbacks/{r['id']}", {"enabled": True})
    return r


def rules(channel):
    for rule in json.load(open(d["rules"]))["rules"]:
        body = {"name": rule["name"][:64], "action": "text", "match_mode": rule["match"],
                "reply": rule["reply"], "priority": rule["priority"], "enabled": rule["enabled"]}
        if rule["match"] != "hosting":
            body["keyword"] = rule["keyword"]
        call("POST", f"/channels/{channel}/reply-rules", body)
    for i in range(int(os.environ.get("FILLER_RULES", "0"))):
        call("POST", f"/channels/{channel}/reply-rules",
             {"name": f"filler {i}", "action": "text", "match_mode": "contains",
              "keyword": f"never-sent-{i}", "reply": "unused", "priority": 100, "enabled": True})


secret = "0123456789abcdef0123456789abcdef"
oa = call("POST", "/channels", {"kind": "official_account", "name": "bench", "app_id": d["appid"],
                                "app_secret": secret, "original_id": d["original_id"],
                                "account_type": "service", "verified": True})
oa_receiver = receiver(oa["id"])
rules(oa["id"])
corp = call("POST", "/channels", {"kind": "wecom_corp", "name": "bench corp", "corp_id": d["appid"]})
app = call("POST", "/channels", {"kind": "wecom_app", "corp": corp["id"], "name": "bench app",
                                 "agent_id": int(d["agent_id"]), "secret": secret})
app_receiver = receiver(app["id"])
rules(app["id"])
path = lambda r: r["url"].split(f":{port}", 1)[1]  # noqa: E731
print(json.dumps({"oa_path": path(oa_receiver), "oa_receiver": oa_receiver["id"],
                  "wecom_path": path(app_receiver)}))
