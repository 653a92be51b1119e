"""Gateways: one interface for every channel, one adapter per provider.

`Gateway.send(message)` hands one message over and says what happened (`Result`);
`Gateway.lookup(message)` asks whether the provider already has a message whose answer
we never recorded (the worker died mid-send): found → recorded as sent, not sent again.

- `AliyunSms`: Alibaba Cloud's SMS API (Dysmsapi 2017-05-25, `SendSms` and
  `QuerySendDetails`, RPC signature HMAC-SHA1), a template code per message template and
  the signature name from settings. The message id travels as `OutId`.
- `WeChatTemplate`: WeChat official-account template messages over plain HTTP
  (`cgi-bin/token`, `cgi-bin/message/template/send`) with `client_msg_id` = the message
  id, which WeChat uses to drop a repeat. wechatpy is not a dependency (decision 0013).
- `EmailGateway`: Django's mail backend.
- Weibo and the Alipay life account: the adapters of `messaging.social` (answers to
  the messages the poller took).

The endpoints come from settings (`MESSAGING`): the demo and the tests point them at the
fake gateways (`messaging/fake.py`, `qingquan manage messaging_fake`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from django.core.mail import EmailMessage

from qingquan.messaging.models import Channel, Message
from qingquan.messaging.rules import conf

TIMEOUT = 10.0


@dataclass(frozen=True)
class Result:
    ok: bool
    ref: str = ""
    error: str = ""
    retry: bool = True  # a failure worth trying again (gateway down, throttled)
    unknown: bool = False  # no answer: the provider may or may not have it


class Gateway(Protocol):
    def send(self, message: Message) -> Result: ...

    def lookup(self, message: Message) -> Result | None: ...


def _encode(value: str) -> str:
    return quote(value, safe="~")


def aliyun_string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    """What Alibaba Cloud's RPC signature signs: the method, "/" and the parameters sorted
    by name, each percent-encoded (RFC 3986: space %20, ~ kept), the whole encoded again."""
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{_encode('/')}&{_encode(query)}"


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Alibaba Cloud's RPC signature: HMAC-SHA1 with the key "<secret>&", Base64."""
    to_sign = aliyun_string_to_sign(params, method)
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes of SendSms that will not succeed however often they are tried again.
PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DENY_IP_RANGE",
}


class AliyunSms:
    def __init__(self) -> None:
        self.endpoint = str(conf("SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"))
        self.key_id = str(conf("SMS_ACCESS_KEY_ID", ""))
        self.secret = str(conf("SMS_ACCESS_KEY_SECRET", ""))
        self.sign_name = str(conf("SMS_SIGN_NAME", ""))
        self.templates: dict[str, str] = dict(conf("SMS_TEMPLATES", {}) or {})  # type: ignore[call-overload]
        self.client = httpx.Client(timeout=TIMEOUT)

    def _call(self, action: str, extra: dict[str, str]) -> dict[str, Any]:
        params = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            **extra,
        }
        params["Signature"] = aliyun_signature(params, self.secret)
        response = self.client.post(self.endpoint, data=params)
        if response.status_code >= 500:
            raise httpx.HTTPStatusError("server error", request=response.request, response=response)
        return dict(response.json())

    @staticmethod
    def _phone(to: str) -> str:
        return to[3:] if to.startswith("+86") else to.lstrip("+")

    def send(self, message: Message) -> Result:
        extra = {
            "PhoneNumbers": self._phone(message.to),
            "SignName": self.sign_name,
            "TemplateCode": self.templates.get(message.template, message.template),
            "TemplateParam": json.dumps(message.params, ensure_ascii=False),
            "OutId": str(message.message_id),
        }
        try:
            answer = self._call("SendSms", extra)
        except httpx.TimeoutException as exc:
            return Result(ok=False, error=f"timeout: {exc}"[:300], unknown=True)
        except httpx.HTTPError as exc:
            return Result(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        except ValueError as exc:
            return Result(ok=False, error=f"bad answer: {exc}"[:300], unknown=True)
        code = str(answer.get("Code", ""))
        if code == "OK":
            return Result(ok=True, ref=str(answer.get("BizId", "")))
        error = f"{code}: {answer.get('Message', '')}"[:300]
        return Result(ok=False, error=error, retry=code not in PERMANENT)

    def lookup(self, message: Message) -> Result | None:
        day = (message.claimed_at or message.created_at).astimezone(dt.UTC) + dt.timedelta(hours=8)
        try:
            answer = self._call(
                "QuerySendDetails",
                {
                    "PhoneNumber": self._phone(message.to),
                    "SendDate": day.strftime("%Y%m%d"),
                    "PageSize": "50",
                    "CurrentPage": "1",
                },
            )
        except (httpx.HTTPError, ValueError) as exc:
            return Result(ok=False, error=f"lookup: {exc}"[:300], unknown=True)
        rows = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        for row in rows:
            if row.get("OutId") == str(message.message_id):
                return Result(ok=True, ref=str(row.get("BizId", "")))
        return None


class WeChatTemplate:
    _token: tuple[str, float] = ("", 0.0)
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.endpoint = str(conf("WECHAT_ENDPOINT", "https://api.weixin.qq.com/")).rstrip("/")
        self.app_id = str(conf("WECHAT_APP_ID", ""))
        self.secret = str(conf("WECHAT_APP_SECRET", ""))
        self.templates: dict[str, str] = dict(conf("WECHAT_TEMPLATES", {}) or {})  # type: ignore[call-overload]
        self.client = httpx.Client(timeout=TIMEOUT)

    def token(self) -> str:
        with self._lock:
            token, until = WeChatTemplate._token
            if token and until > time.monotonic():
                return token
            answer = self.client.get(
                f"{self.endpoint}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.secret,
                },
            ).json()
            if "access_token" not in answer:
                raise httpx.HTTPError(f"token: {answer.get('errmsg', answer)}")
            expires = float(answer.get("expires_in", 7200)) - 300
            WeChatTemplate._token = (answer["access_token"], time.monotonic() + expires)
            return str(answer["access_token"])

    def send(self, message: Message) -> Result:
        body = {
            "touser": message.to,
            "template_id": self.templates.get(message.template, message.template),
            "client_msg_id": str(message.message_id),
            "data": {k: {"value": str(v)} for k, v in message.params.items()},
        }
        try:
            response = self.client.post(
                f"{self.endpoint}/cgi-bin/message/template/send",
                params={"access_token": self.token()},
                json=body,
            )
            if response.status_code >= 500:
                return Result(ok=False, error=f"HTTP {response.status_code}")
            answer = response.json()
        except httpx.TimeoutException as exc:
            return Result(ok=False, error=f"timeout: {exc}"[:300], unknown=True)
        except (httpx.HTTPError, ValueError) as exc:
            return Result(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        code = int(answer.get("errcode", -1))
        if code == 0:
            return Result(ok=True, ref=str(answer.get("msgid", "")))
        if code in (40001, 42001):  # token expired or revoked: fetch a new one next time
            WeChatTemplate._token = ("", 0.0)
        # 43004: the user unfollowed; 40003: not an openid of this account.
        return Result(
            ok=False,
            error=f"{code}: {answer.get('errmsg', '')}"[:300],
            retry=code not in (40003, 43004, 40037),
        )

    def lookup(self, message: Message) -> Result | None:
        # WeChat drops a repeat of the same client_msg_id itself: sending again is safe.
        return None


class EmailGateway:
    def send(self, message: Message) -> Result:
        subject = str(message.params.get("subject") or message.body.split("\n", 1)[0])[:120]
        try:
            EmailMessage(
                subject=subject,
                body=message.body,
                to=[message.to],
                headers={"Message-ID": f"<{message.message_id}@qingquan>"},
            ).send()
        except Exception as exc:
            return Result(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return Result(ok=True, ref=str(message.message_id))

    def lookup(self, message: Message) -> Result | None:
        return None


_gateways: dict[str, Gateway] = {}
_gw_lock = threading.Lock()


def gateway(channel: str) -> Gateway:
    """The gateway of a channel (one per process; `reset()` after changing settings)."""
    with _gw_lock:
        if channel not in _gateways:
            made: Gateway
            if channel == Channel.SMS:
                made = AliyunSms()
            elif channel == Channel.WECHAT:
                made = WeChatTemplate()
            elif channel in (Channel.WEIBO, Channel.ALIPAY):
                from qingquan.messaging.social import adapter

                made = adapter(channel)
            else:
                made = EmailGateway()
            _gateways[channel] = made
        return _gateways[channel]


def reset() -> None:
    with _gw_lock:
        _gateways.clear()
    WeChatTemplate._token = ("", 0.0)
