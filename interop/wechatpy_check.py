"""wechatpy side of the interop tests (crates/wx/tests/interop.rs).

Reads the request JSON (path in argv[1]), answers JSON on stdout:

- decrypted:      every push, XML reply and JSON reply that Qiao encrypted, verified and
                  decrypted with wechatpy (WeChatCrypto for the Official Account,
                  wechatpy.enterprise.crypto.WeChatCrypto for WeCom); a reply that is XML
                  is parsed too and its Content returned;
- encrypted:      every payload encrypted by wechatpy (encrypt_message), returned as the
                  reply envelope and as a push (query + body built from its fields);
- echo_decrypted: WeCom URL verification queries made by Qiao, checked with check_signature;
- echo_encrypted: WeCom URL verification queries made with wechatpy;
- oa_verify:      Qiao's plain OA signature checked with wechatpy.utils.check_signature.

Only wechatpy's public API is used. Errors are reported per case, never swallowed.
"""
import json
import sys
from importlib.metadata import version
from urllib.parse import parse_qsl, urlencode

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature


def parse_query(query):
    # strict_parsing: a malformed query is an error, not silently dropped pairs.
    return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))


def crypto_for(req, platform):
    cls = WeChatCrypto if platform == "oa" else WeComCrypto
    return cls(req["token"], req["aes_key"], req["accounts"][platform])


def decrypt_case(req, case):
    crypto = crypto_for(req, case["platform"])
    q = parse_query(case["query"])
    out = {"id": case["id"]}
    out["push"] = crypto.decrypt_message(case["body"], q["msg_signature"], q["timestamp"], q["nonce"])
    reply = xmltodict.parse(case["reply"])["xml"]
    out["reply"] = crypto.decrypt_message(case["reply"], reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
    if case.get("reply_json"):
        j = json.loads(case["reply_json"])
        # decrypt_message takes an already parsed envelope as a dict with `Encrypt`.
        out["reply_json"] = crypto.decrypt_message(
            {"Encrypt": j["encrypt"]}, j["msgsignature"], str(j["timestamp"]), j["nonce"]
        )
    if case.get("content") is not None:
        out["content"] = xmltodict.parse(out["reply"])["xml"]["Content"]
    return out


def encrypt_case(req, case):
    crypto = crypto_for(req, case["platform"])
    reply = crypto.encrypt_message(case["payload"], case["nonce"], case["timestamp"])
    env = xmltodict.parse(reply)["xml"]
    query = {"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"]}
    if case["platform"] == "oa":
        query.update({"encrypt_type": "aes", "openid": "oia2TjuEGTNoeX76QEjQNrcURxG8"})
        to_user = "gh_3f5a9c2e8b7d"
    else:
        to_user = req["accounts"]["wecom"]
    body = xmltodict.unparse(
        {"xml": {"ToUserName": to_user, "Encrypt": env["Encrypt"]}}, full_document=False
    )
    return {"id": case["id"], "query": urlencode(query), "body": body, "reply": reply}


def echo_decrypt(req, case):
    q = parse_query(case["query"])
    crypto = WeComCrypto(req["token"], req["aes_key"], case["receive_id"])
    echostr = crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
    return {"id": case["id"], "echostr": echostr}


def echo_encrypt(req, case):
    # WeCom encrypts and signs echostr exactly as a message: take both from encrypt_message.
    crypto = WeComCrypto(req["token"], req["aes_key"], case["receive_id"])
    env = xmltodict.parse(crypto.encrypt_message(case["echostr"], case["nonce"], case["timestamp"]))["xml"]
    query = urlencode(
        {"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"], "echostr": env["Encrypt"]}
    )
    return {"id": case["id"], "query": query}


def guarded(fn, req, case):
    try:
        return fn(req, case)
    except Exception as e:  # reported to the Rust side, which fails the test
        return {"id": case["id"], "error": f"{type(e).__name__}: {e}"}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    q = parse_query(req["oa_verify"]["query"])
    try:
        check_signature(req["token"], q["signature"], q["timestamp"], q["nonce"])
        oa_ok = True
    except InvalidSignatureException:
        oa_ok = False
    answer = {
        "implementation": f"wechatpy {version('wechatpy')}",
        "decrypted": [guarded(decrypt_case, req, c) for c in req["from_qiao"]],
        "encrypted": [guarded(encrypt_case, req, c) for c in req["to_qiao"]],
        "echo_decrypted": [guarded(echo_decrypt, req, c) for c in req["echo_from_qiao"]],
        "echo_encrypted": [guarded(echo_encrypt, req, c) for c in req["echo_to_qiao"]],
        "oa_verify": {"ok": oa_ok},
    }
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
