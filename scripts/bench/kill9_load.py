#!/usr/bin/env python3
"""Load for the kill -9 check: threads send distinct wechatpy-encrypted text messages to a
callback URL and append to ANSWERED the MsgId of every push that got an encrypted reply. It
runs until the server stops answering (it is killed), then prints how many were answered.

  kill9_load.py BENCH_DIR BASE_URL PATH ANSWERED [THREADS]
"""
import random
import sys
import threading
import time

import requests

sys.path.insert(0, sys.argv[1])
import wxbench  # noqa: E402

base, path, answered_file = sys.argv[2], sys.argv[3], sys.argv[4]
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 16
d = wxbench.DEFAULTS
lock = threading.Lock()
answered = open(answered_file, "a")
# MsgIds never repeat across runs: they start from the current time in microseconds.
start = int(time.time() * 1_000_000)
counter = iter(range(start, start + 10**12))
stop = threading.Event()


def worker():
    session = requests.Session()
    misses = 0
    while not stop.is_set():
        with lock:
            msg_id = next(counter)
        ts, nonce = str(int(time.time())), str(random.randrange(10**9))
        xml = wxbench.text_message_xml("mp", d["original_id"], f"o{msg_id % 977}", ts, "我要请假", msg_id)
        encrypt = wxbench.encrypt_for(d["aes_key"], d["appid"], xml)
        sig = wxbench._get_signature(d["token"], ts, nonce, encrypt)
        body = f"<xml><ToUserName><![CDATA[{d['original_id']}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        params = {"signature": wxbench.plain_signature(d["token"], ts, nonce), "timestamp": ts,
                  "nonce": nonce, "openid": "o1", "encrypt_type": "aes", "msg_signature": sig}
        try:
            r = session.post(base + path, params=params, data=body.encode(), timeout=5)
        except requests.RequestException:
            misses += 1
            if misses > 20:
                stop.set()
            time.sleep(0.05)
            continue
        if r.status_code == 200 and "<Encrypt>" in r.text:
            with lock:
                answered.write(f"{msg_id}\n")
                answered.flush()


workers = [threading.Thread(target=worker) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
answered.close()
print(sum(1 for _ in open(answered_file)), "answered before the server stopped")
