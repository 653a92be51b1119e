"""Local fake gateways for the demo and the tests: an Alibaba Cloud SMS endpoint
(`/sms/`: SendSms, QuerySendDetails; `/sms/reply` makes a customer reply, pushed
to the platform like Alibaba Cloud's SmsUp) and a WeChat official-account API (`/wechat/…`:
token, template send with client_msg_id), over HTTP, that record every message they
receive and send delivery receipts back in the providers' formats (SMS: the JSON list
of Alibaba Cloud's HTTP receipt push; WeChat: the TEMPLATESENDJOBFINISH event XML).

It also plays WeChat's web OAuth (`/wechat/connect/oauth2/authorize` hands a code back
to the page, `/wechat/sns/oauth2/access_token` exchanges it for the openid: the portal's
payment inside WeChat), and Weibo and the Alipay open gateway (`social_fake.py`: the
messages the poller takes, the answers agents send).

Run `qingquan manage messaging_fake` (port 8125 by default); `GET /received` lists what
arrived. `FakeGateways(...).start()` runs it in a thread (tests).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from qingquan.messaging.social_fake import SocialFake


class FakeGateways:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        receipts_to: str = "",
        receipt_token: str = "",
        delay: float = 0.0,
        replies_to: str = "",
        app_id: str = "fake",
        app_secret: str = "fake",  # noqa: S107 (the fake's own demo secret)
    ) -> None:
        self.received: list[dict[str, Any]] = []
        self.delay = delay  # seconds each send takes (to kill a worker in the middle)
        self.fail_next = 0  # answer this many sends with HTTP 503
        self.receipts_to = receipts_to.rstrip("/")
        self.receipt_token = receipt_token
        # Where customers' replies are pushed (SmsUp); by default beside the receipts.
        self.replies_to = (replies_to or self.receipts_to.replace("/receipts", "/replies")).rstrip(
            "/"
        )
        self.replies: list[dict[str, Any]] = []
        self._pending: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wechat_seen: set[tuple[str, str]] = set()
        self.social = SocialFake()
        self.app_id, self.app_secret = app_id, app_secret
        # WeChat's OAuth (网页授权): the WeChat user whose browser comes to /authorize,
        # and the codes given out (code -> openid, when, used).
        self.openid = "oQq" + uuid.uuid4().hex[:25]
        self.codes: dict[str, list[Any]] = {}
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"

    # -- the providers -------------------------------------------------------------------
    def sms(self, params: dict[str, str]) -> tuple[int, Any]:
        action = params.get("Action")
        if action == "QuerySendDetails":
            with self._lock:
                rows = [
                    {"OutId": r["out_id"], "BizId": r["ref"], "PhoneNum": r["to"], "SendStatus": 3}
                    for r in self.received
                    if r["channel"] == "sms" and r["to"] == params.get("PhoneNumber")
                ]
            return 200, {
                "Code": "OK",
                "TotalCount": len(rows),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows},
            }
        if action != "SendSms":
            return 400, {"Code": "InvalidAction", "Message": str(action)}
        if not params.get("Signature") or not params.get("SignName"):
            return 400, {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "no signature"}
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"Code": "ServiceUnavailable", "Message": "try later"}
        if self.delay:
            time.sleep(self.delay)
        phone = params.get("PhoneNumbers", "")
        if not phone.isdigit():
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": phone}
        ref = uuid.uuid4().hex[:20]
        row = {
            "channel": "sms",
            "to": phone,
            "out_id": params.get("OutId", ""),
            "ref": ref,
            "template": params.get("TemplateCode", ""),
            "params": json.loads(params.get("TemplateParam") or "{}"),
            "sign": params.get("SignName", ""),
            "at": time.time(),
        }
        with self._lock:
            self.received.append(row)
            self._pending.append(
                (
                    "sms",
                    {
                        "phone_number": phone,
                        "success": True,
                        "err_code": "DELIVERED",
                        "err_msg": "用户接收成功",
                        "sms_size": "1",
                        "biz_id": ref,
                        "out_id": row["out_id"],
                        "report_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                    },
                )
            )
        return 200, {"Code": "OK", "Message": "OK", "BizId": ref, "RequestId": uuid.uuid4().hex}

    def wechat(self, body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"errcode": -1, "errmsg": "system busy"}
            key = (str(body.get("touser")), str(body.get("client_msg_id")))
            if key in self._wechat_seen:  # WeChat drops a repeat of a client_msg_id
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": 0}
            self._wechat_seen.add(key)
            msgid = int(time.time() * 1000) % 10**12 + len(self.received)
            self.received.append(
                {
                    "channel": "wechat",
                    "to": key[0],
                    "out_id": key[1],
                    "ref": str(msgid),
                    "template": body.get("template_id", ""),
                    "params": {k: v.get("value") for k, v in (body.get("data") or {}).items()},
                    "at": time.time(),
                }
            )
            self._pending.append(("wechat", {"to": key[0], "msgid": msgid}))
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def authorize(self, query: dict[str, str]) -> str | None:
        """WeChat's OAuth page (snsapi_base: no question asked): back to redirect_uri with
        a code for the current WeChat user and the state, or None for a wrong request."""
        target = query.get("redirect_uri", "")
        if query.get("appid") != self.app_id or not target.startswith(("http://", "https://")):
            return None
        if query.get("response_type") != "code" or query.get("scope") not in (
            "snsapi_base",
            "snsapi_userinfo",
        ):
            return None
        code = uuid.uuid4().hex
        with self._lock:
            self.codes[code] = [self.openid, time.time(), False]
        joiner = "&" if "?" in target else "?"
        return f"{target}{joiner}{urlencode({'code': code, 'state': query.get('state', '')})}"

    def oauth_token(self, query: dict[str, str]) -> dict[str, Any]:
        """The code exchange (sns/oauth2/access_token): the openid, once per code, within
        five minutes, for our appid and secret."""
        if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        with self._lock:
            found = self.codes.get(query.get("code", ""))
            if found is None or time.time() - found[1] > 300:
                return {"errcode": 40029, "errmsg": "invalid code"}
            if found[2]:
                return {"errcode": 40163, "errmsg": "code been used"}
            found[2] = True
        return {
            "access_token": uuid.uuid4().hex,
            "expires_in": 7200,
            "refresh_token": uuid.uuid4().hex,
            "openid": found[0],
            "scope": "snsapi_base",
        }

    def reply(self, phone: str, content: str, *, sequence_id: str = "") -> dict[str, Any]:
        """A customer replies to an SMS: pushed at once in Alibaba Cloud's SmsUp format
        (a JSON list), with the gateway's message id (sequence_id); returns the row."""
        row = {
            "phone_number": phone,
            "content": content,
            "send_time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "dest_code": "96390",
            "sign_name": "清泉水务",
            "sequence_id": sequence_id or str(uuid.uuid4().int % 10**15),
        }
        with self._lock:
            self.replies.append(row)
        self.push_reply(row)
        return row

    def push_reply(self, row: dict[str, Any]) -> int:
        """Post one reply to the platform (again, for a repeated push); the HTTP status."""
        if not self.replies_to:
            return 0
        headers = {"X-Qingquan-Receipt-Token": self.receipt_token}
        try:
            answer = httpx.post(f"{self.replies_to}/sms/", json=[row], headers=headers, timeout=10)
        except httpx.HTTPError:
            return 0
        return answer.status_code

    # -- receipts ------------------------------------------------------------------------
    def _post_receipts(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch or not self.receipts_to:
            return
        headers = {"X-Qingquan-Receipt-Token": self.receipt_token}
        sms = [r for kind, r in batch if kind == "sms"]
        try:
            if sms:
                httpx.post(f"{self.receipts_to}/sms/", json=sms, headers=headers, timeout=10)
            for kind, r in batch:
                if kind != "wechat":
                    continue
                xml = (
                    f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName>"
                    f"<FromUserName><![CDATA[{r['to']}]]></FromUserName>"
                    f"<CreateTime>{int(time.time())}</CreateTime>"
                    f"<MsgType><![CDATA[event]]></MsgType>"
                    f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
                    f"<MsgID>{r['msgid']}</MsgID><Status><![CDATA[success]]></Status></xml>"
                )
                httpx.post(
                    f"{self.receipts_to}/wechat/",
                    content=xml.encode(),
                    headers={**headers, "Content-Type": "text/xml"},
                    timeout=10,
                )
        except httpx.HTTPError:
            with self._lock:  # the platform is down: keep them for the next round
                self._pending = batch + self._pending

    def _receipt_loop(self) -> None:
        while not self._stop.wait(0.5):
            self._post_receipts()

    def start(self) -> FakeGateways:
        threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-gw").start()
        threading.Thread(target=self._receipt_loop, daemon=True, name="fake-gw-rc").start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def count_by_out_id(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for r in self.received:
                counts[r["out_id"]] = counts.get(r["out_id"], 0) + 1
            return counts


def _handler(fake: FakeGateways) -> type[BaseHTTPRequestHandler]:
    """The HTTP handler of one fake: every path of every provider it plays."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm the body
        # waited for the client's delayed ACK (40 ms a message, 25 messages a second).
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/received":
                with fake._lock:
                    self._answer(200, fake.received)
            elif url.path == "/wechat/cgi-bin/token":
                self._answer(200, {"access_token": "fake-token", "expires_in": 7200})
            elif url.path.startswith("/weibo/"):
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._answer(*fake.social.get(url.path, query))
            elif url.path == "/wechat/connect/oauth2/authorize":
                target = fake.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                if target is None:
                    self._answer(400, {"errcode": 10003, "errmsg": "redirect_uri or appid"})
                    return
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif url.path == "/wechat/sns/oauth2/access_token":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._answer(200, fake.oauth_token(query))
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            url = urlparse(self.path)
            raw = self._body()
            if url.path.rstrip("/") == "/sms/reply":
                data = json.loads(raw or b"{}")
                row = fake.reply(str(data.get("phone", "")), str(data.get("content", "")))
                self._answer(200, row)
            elif url.path.rstrip("/") == "/sms":
                params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._answer(*fake.sms(params))
            elif url.path.startswith(("/weibo/", "/alipay/")):
                self._answer(*fake.social.post(url.path.rstrip("/") or url.path, raw))
            elif url.path == "/wechat/cgi-bin/message/template/send":
                self._answer(*fake.wechat(json.loads(raw or b"{}")))
            else:
                self._answer(404, {"error": "not found"})

    return Handler
