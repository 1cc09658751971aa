"""wechatpy clients against wxsim (driven by tests/it/sdk.rs).

Usage: clients.py CONFIG_JSON

wechatpy builds API URLs as ``API_BASE_URL + endpoint`` (``BaseWeChatClient._request`` reads
``self.API_BASE_URL``; the API groups read their own ``API_BASE_URL`` class attribute, e.g.
``WeChatWxa``), so an instance attribute redirects them. Token fetching does *not* use it:
``WeChatClient.fetch_access_token`` and the enterprise one pass hard-coded
``https://api.weixin.qq.com/cgi-bin/token`` / ``https://qyapi.weixin.qq.com/cgi-bin/gettoken``
URLs to ``_fetch_access_token``, so the subclasses below override ``fetch_access_token``.
Every write is checked by a second call (read back, or the simulator's inbox).
"""

import json
import sys
import time

import requests
from wechatpy import WeChatClient
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException

CFG = json.loads(sys.argv[1])
SIM = CFG["sim"]
CHECKS = 0


def check(cond, what):
    global CHECKS
    if not cond:
        raise AssertionError(what)
    CHECKS += 1


def inbox(user):
    r = requests.get(SIM + "/sim/inbox", params={"user": user}, timeout=10).json()
    return r["messages"]


class SimOA(WeChatClient):
    def __init__(self, appid, secret):
        super().__init__(appid, secret)
        self.API_BASE_URL = SIM + "/api/cgi-bin/"
        self.wxa.API_BASE_URL = SIM + "/api/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=SIM + "/api/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class SimWeCom(WeComClient):
    def __init__(self, corp_id, secret):
        super().__init__(corp_id, secret)
        self.API_BASE_URL = SIM + "/qyapi/cgi-bin/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=SIM + "/qyapi/cgi-bin/gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )


def official_account():
    oa = SimOA(CFG["appid"], CFG["secret"])
    # tokens: wechatpy fetched one; the simulator saw it
    check(oa.access_token, "token")
    followers = oa.user.get_followers()
    check(followers["total"] == 9 and followers["count"] == 9, "9 followers: %r" % followers)
    every = list(oa.user.iter_followers())
    check(every == followers["data"]["openid"], "iter_followers stops on the last page")
    first = every[0]
    info = oa.user.get(first)
    check(info["subscribe"] == 1 and info["openid"] == first, "user.get")
    check("nickname" not in info, "no nickname since 2021-12-27")
    batch = oa.user.get_batch(every[:3])
    check([u["openid"] for u in batch] == every[:3], "get_batch")
    # menus, read back
    menu = {"button": [{"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
                       {"name": "菜单", "sub_button": [{"type": "view", "name": "搜索", "url": "http://www.soso.com/"}]}]}
    oa.menu.create(menu)
    got = oa.menu.get()["menu"]["button"]
    check(got[0]["key"] == "V1001_TODAY_MUSIC" and got[1]["sub_button"][0]["url"] == "http://www.soso.com/", "menu read back")
    oa.menu.delete()
    # wechatpy maps 46003 (no menu) to None
    check(oa.menu.get() is None, "menu deleted")
    # template message lands in the fan's inbox
    res = oa.message.send_template(first, "tmpl-order-status-0001",
                                   {"first": {"value": "您的订单已发货"}, "keyword1": {"value": "A2024"},
                                    "keyword2": {"value": "已发货"}, "remark": {"value": "谢谢"}})
    msgs = inbox(first)
    check(msgs and str(msgs[0]["msgid"]) == str(res["msgid"]), "template in inbox")
    check(msgs[0]["content"]["data"]["keyword1"]["value"] == "A2024", "template data kept")
    # customer-service window: 45015 without interaction
    try:
        oa.message.send_text(first, "hello")
        check(False, "45015 expected")
    except WeChatClientException as e:
        check(e.errcode == 45015, "45015: %r" % e.errcode)
    # JS-SDK ticket and signature, checked by the simulator
    ticket = oa.jsapi.get_jsapi_ticket()
    sig = oa.jsapi.get_jsapi_signature("Wm3WZYTPz0wzccnW", ticket, 1414587457, "http://bridge.example/p?x=1")
    v = requests.post(SIM + "/sim/jsapi/check", json={"account": CFG["appid"], "url": "http://bridge.example/p?x=1",
                                                       "noncestr": "Wm3WZYTPz0wzccnW", "timestamp": "1414587457",
                                                       "signature": sig}, timeout=10).json()
    check(v["valid"] is True, "jsapi signature: %r" % v)
    # §7 row 1: another system fetches a token; wechatpy's auto_retry refreshes once on 40001
    requests.post(SIM + "/sim/tokens/rotate", json={"credential": CFG["appid"], "grace_secs": 0}, timeout=10)
    check(oa.user.get_followers()["total"] == 9, "auto retry after 40001")
    # Mini Program login through wechatpy's wxa API
    mp = SimOA(CFG["mp_appid"], CFG["mp_secret"])
    code = requests.post(SIM + "/sim/mp/login", json={"appid": CFG["mp_appid"], "openid": CFG["mp_user"]}, timeout=10).json()["code"]
    sess = mp.wxa.code_to_session(code)
    check(sess["openid"] == CFG["mp_user"] and len(sess["session_key"]) == 24, "jscode2session: %r" % sess)


def wecom():
    contacts = SimWeCom(CFG["corpid"], CFG["contacts_secret"])
    dept_id = contacts.department.create("接口测试部", parent_id=1)["id"]
    check(any(d["id"] == dept_id and d["name"] == "接口测试部" for d in contacts.department.get()), "department read back")
    contacts.user.create("sdkuser", "接口用户", department=[dept_id], mobile="+86 13911112222", email="sdkuser@example.com")
    u = contacts.user.get("sdkuser")
    check(u["name"] == "接口用户" and u["department"] == [dept_id], "user read back")
    contacts.user.update("sdkuser", position="测试工程师")
    check(contacts.user.get("sdkuser")["position"] == "测试工程师", "update read back")
    users = contacts.user.list(dept_id)
    check([x["userid"] for x in users] == ["sdkuser"], "user.list")
    # app: send and find it in the inbox
    app = SimWeCom(CFG["corpid"], CFG["app_secret"])
    res = app.message.send_text(CFG["agentid"], ["sdkuser", "lisi"], "来自 wechatpy 的消息")
    check(res["invaliduser"] == "", "no invalid users: %r" % res)
    msgs = inbox("sdkuser")
    check(msgs and msgs[0]["msgid"] == res["msgid"] and msgs[0]["content"]["text"]["content"] == "来自 wechatpy 的消息", "inbox")
    res = app.message.send_text(CFG["agentid"], ["sdkuser", "nobody"], "x")
    check(res["invaliduser"] == "nobody", "invaliduser reported")
    # in-app OAuth code through wechatpy's (legacy) getuserinfo
    code = requests.post(SIM + "/sim/oauth/code", json={"appid": CFG["corpid"], "user": "lisi"}, timeout=10).json()["code"]
    check(app.oauth.get_user_info(code)["UserId"] == "lisi", "oauth.get_user_info")
    check(app.jsapi.get_jsapi_ticket(), "corp jsapi ticket")
    check(app.jsapi.get_agent_ticket()["ticket"], "agent ticket")
    contacts.user.delete("sdkuser")
    try:
        contacts.user.get("sdkuser")
        check(False, "deleted")
    except WeChatClientException as e:
        check(e.errcode == 60111, "60111 after delete")
    contacts.department.delete(dept_id)


if __name__ == "__main__":
    started = time.time()
    official_account()
    wecom()
    print("OK %d checks in %.2fs" % (CHECKS, time.time() - started))
