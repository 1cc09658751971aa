"""A developer's callback server written with wechatpy (driven by tests/it/sdk.rs).

Usage: receiver.py CONFIG_JSON    (prints "PORT <n>" once listening on 127.0.0.1)

Routes (token / EncodingAESKey from the config):
  /oa/plain, /oa/compatible, /oa/safe   Official Account, receive id = appid
  /wecom                                WeCom app, receive id = corpid
  /suite                                suite command URL: pushes use the suite id, the URL
                                        verification echostr the provider corpid
Text messages get a passive reply "wechatpy: <content>" (encrypted when the push was);
everything else gets "success". GET /log returns what was received and validated.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise import parse_message as parse_wecom
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.replies import TextReply as WeComText
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

CFG = json.loads(sys.argv[1])
TOKEN, KEY = CFG["token"], CFG["key"]
LOG = []
LOCK = threading.Lock()


def log(entry):
    with LOCK:
        LOG.append(entry)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def params(self):
        u = urlparse(self.path)
        return u.path, {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}

    def do_GET(self):
        path, q = self.params()
        if path == "/log":
            with LOCK:
                return self.answer(200, json.dumps(LOG, ensure_ascii=False))
        try:
            if path.startswith("/oa/"):
                check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
                log({"route": path, "verify": "ok"})
                return self.answer(200, q["echostr"])
            rid = CFG["corpid"] if path == "/wecom" else CFG["provider_corpid"]
            echo = WeComCrypto(TOKEN, KEY, rid).check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
            log({"route": path, "verify": "ok"})
            return self.answer(200, echo.decode() if isinstance(echo, bytes) else echo)
        except (InvalidSignatureException, Exception) as e:  # noqa: BLE001
            log({"route": path, "verify": "failed: %r" % e})
            return self.answer(403, "bad signature")

    def do_POST(self):
        path, q = self.params()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        try:
            if path.startswith("/oa/"):
                check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
                encrypted = q.get("encrypt_type") == "aes"
                crypto = WeChatCrypto(TOKEN, KEY, CFG["appid"])
                xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"]) if encrypted else body
                msg = parse_message(xml)
                log({"route": path, "type": msg.type, "event": getattr(msg, "event", None),
                     "content": getattr(msg, "content", None), "encrypted": encrypted, "id": msg.id})
                if msg.type != "text":
                    return self.answer(200, "success")
                reply = TextReply(content="wechatpy: " + msg.content, message=msg).render()
                return self.answer(200, crypto.encrypt_message(reply, q["nonce"], q["timestamp"]) if encrypted else reply)
            if path == "/wecom":
                crypto = WeComCrypto(TOKEN, KEY, CFG["corpid"])
                xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
                msg = parse_wecom(xml)
                log({"route": path, "type": msg.type, "event": getattr(msg, "event", None),
                     "content": getattr(msg, "content", None), "agent": msg.agent, "encrypted": True})
                if msg.type != "text":
                    return self.answer(200, "success")
                reply = WeComText(content="wechatpy: " + msg.content, message=msg).render()
                return self.answer(200, crypto.encrypt_message(reply, q["nonce"], q["timestamp"]))
            # suite command URL: receive id = suite id; InfoType payloads, answer "success"
            crypto = WeComCrypto(TOKEN, KEY, CFG["suite_id"])
            xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            doc = xmltodict.parse(xml)["xml"]
            log({"route": path, "info_type": doc.get("InfoType"), "ticket": doc.get("SuiteTicket"),
                 "auth_code": doc.get("AuthCode"), "encrypted": True})
            return self.answer(200, "success")
        except Exception as e:  # noqa: BLE001
            log({"route": path, "error": repr(e)})
            return self.answer(403, "rejected: %r" % e)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()
