"""Weibo and the Alipay life account (支付宝生活号) behind one adapter interface.

`SocialAdapter.fetch(feed, cursor)` reads one feed of the platform (Weibo: private
messages and mentions of our account; Alipay: messages to the life account) after
`cursor` and gives the messages with the new cursor; `send(message)` / `lookup(message)`
make the adapter a gateway of the outbox (`messaging.gateways`), so an agent's answer
goes out as an outbox row, claimed by a worker and retried like an SMS.

- `WeiboAdapter`: Weibo's open API v2 (`statuses/mentions.json` and
  `direct_messages.json` with `since_id`; answers by `comments/create.json` under the
  post that mentioned us, or `direct_messages/new.json`), an OAuth access token.
- `AlipayLifeAdapter`: the Alipay open gateway's conventions (one URL, `method`,
  `biz_content` JSON, `app_id`, `sign`): `alipay.open.public.message.query` reads the
  life account's messages after a cursor, `alipay.open.public.message.custom.send`
  answers one user. The sign is HMAC-SHA256 with the app key, as the payments sandbox
  signs where the real provider uses RSA keys.

A platform whose endpoint is not set is not configured: the poller skips it and the
inbox never shows its channel. The demo and the tests point them at the fake
(`messaging/fake.py`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from qingquan.messaging.gateways import TIMEOUT, Result
from qingquan.messaging.inbound import Arrived
from qingquan.messaging.models import Channel, InboundKind, Message
from qingquan.messaging.rules import conf

PAGE = 50


class FetchError(Exception):
    """The platform did not answer a poll (the cursor stays; the next poll tries again)."""


@dataclass(frozen=True)
class Page:
    messages: list[Arrived]
    cursor: str


class SocialAdapter(Protocol):
    channel: str
    feeds: tuple[str, ...]

    def configured(self) -> bool: ...

    def fetch(self, feed: str, cursor: str) -> Page: ...

    def send(self, message: Message) -> Result: ...

    def lookup(self, message: Message) -> Result | None: ...


def _newest(cursor: str, ids: list[str]) -> str:
    """The largest of the cursor and the ids (numeric ids compared as numbers)."""
    best = cursor
    for value in ids:
        if not best or (len(value), value) > (len(best), best):
            best = value
    return best


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise FetchError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise FetchError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FetchError("not a JSON object")
    return data


def _sane(at: dt.datetime | None) -> dt.datetime | None:
    """A platform's time, or None (then: when we took it) when it is absurd."""
    return at if at is not None and 2000 < at.year < 2100 else None


def _weibo_time(text: str) -> dt.datetime | None:
    try:
        return _sane(dt.datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y"))
    except (TypeError, ValueError):
        return None


class WeiboAdapter:
    channel: str = Channel.WEIBO
    feeds: tuple[str, ...] = ("mentions", "messages")
    # Weibo's error codes worth trying again: system busy, rate limits.
    RETRY = {10001, 10009, 10022, 10023, 10024}
    REPEAT = 20019  # "repeated content": the same answer went out already

    def __init__(self) -> None:
        self.endpoint = str(conf("WEIBO_ENDPOINT", "") or "").rstrip("/")
        self.token = str(conf("WEIBO_ACCESS_TOKEN", "") or "")
        self.client = httpx.Client(timeout=TIMEOUT)

    def configured(self) -> bool:
        return bool(self.endpoint and self.token)

    def fetch(self, feed: str, cursor: str) -> Page:
        path, key, who = {
            "mentions": ("statuses/mentions.json", "statuses", "user"),
            "messages": ("direct_messages.json", "direct_messages", "sender"),
        }[feed]
        params = {"access_token": self.token, "since_id": cursor or "0", "count": str(PAGE)}
        try:
            data = _answer(self.client.get(f"{self.endpoint}/2/{path}", params=params))
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc
        if "error_code" in data:
            raise FetchError(f"{data.get('error_code')}: {data.get('error', '')}")
        rows = [r for r in data.get(key) or [] if isinstance(r, dict) and r.get("idstr")]
        kind = InboundKind.MENTION if feed == "mentions" else InboundKind.MESSAGE
        # Posts (s…) and private messages (d…) are numbered apart on Weibo.
        prefix = "s" if feed == "mentions" else "d"
        arrived = [
            Arrived(
                channel=self.channel,
                provider_id=f"{prefix}{r['idstr']}",
                sender=str((r.get(who) or {}).get("idstr") or ""),
                sender_name=str((r.get(who) or {}).get("screen_name") or ""),
                text=str(r.get("text") or ""),
                at=_weibo_time(str(r.get("created_at") or "")),
                kind=kind,
            )
            for r in sorted(rows, key=lambda r: (len(r["idstr"]), r["idstr"]))
        ]
        return Page(arrived, _newest(cursor, [str(r["idstr"]) for r in rows]))

    def send(self, message: Message) -> Result:
        reply_to = str(message.params.get("reply_to") or "")
        if message.params.get("kind") == InboundKind.MENTION:
            path = "comments/create.json"
            data = {"access_token": self.token, "id": reply_to[1:], "comment": message.body}
        else:
            path = "direct_messages/new.json"
            data = {"access_token": self.token, "uid": message.to, "text": message.body}
        try:
            response = self.client.post(f"{self.endpoint}/2/{path}", data=data)
            if response.status_code >= 500:
                return Result(ok=False, error=f"HTTP {response.status_code}")
            answer = response.json()
        except httpx.TimeoutException as exc:
            return Result(ok=False, error=f"timeout: {exc}"[:300], unknown=True)
        except (httpx.HTTPError, ValueError) as exc:
            return Result(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        code = int(answer.get("error_code") or 0)
        if not code:
            return Result(ok=True, ref=str(answer.get("idstr", "")))
        if code == self.REPEAT:
            return Result(ok=True, ref="repeat")
        return Result(
            ok=False, error=f"{code}: {answer.get('error', '')}"[:300], retry=code in self.RETRY
        )

    def lookup(self, message: Message) -> Result | None:
        # Weibo refuses a repeat of the same text to the same place (20019): sending again
        # is safe, and is recorded as sent.
        return None


def alipay_sign(params: dict[str, str], key: str) -> str:
    """The sign of a gateway call: the parameters but `sign`, sorted, joined as
    k=v&k=v (Alipay's string to sign), HMAC-SHA256 with the app key, hex."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


class AlipayLifeAdapter:
    channel: str = Channel.ALIPAY
    feeds: tuple[str, ...] = ("messages",)
    RETRY = {"20000", "ACQ.SYSTEM_ERROR", "aop.ACCESS_LIMITED"}

    def __init__(self) -> None:
        self.endpoint = str(conf("ALIPAY_LIFE_ENDPOINT", "") or "")
        self.app_id = str(conf("ALIPAY_LIFE_APP_ID", "") or "")
        self.key = str(conf("ALIPAY_LIFE_KEY", "") or "")
        self.client = httpx.Client(timeout=TIMEOUT)

    def configured(self) -> bool:
        return bool(self.endpoint and self.app_id and self.key)

    def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "charset": "utf-8",
            "sign_type": "HMAC-SHA256",
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = alipay_sign(params, self.key)
        data = _answer(self.client.post(self.endpoint, data=params))
        name = method.replace(".", "_") + "_response"
        answer = data.get(name)
        if not isinstance(answer, dict):
            raise FetchError(f"no {name} in the answer")
        return answer

    def fetch(self, feed: str, cursor: str) -> Page:
        try:
            answer = self._call(
                "alipay.open.public.message.query", {"since_id": cursor, "limit": PAGE}
            )
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc
        if answer.get("code") != "10000":
            raise FetchError(f"{answer.get('code')}: {answer.get('sub_msg') or answer.get('msg')}")
        rows = [r for r in answer.get("messages") or [] if isinstance(r, dict) and r.get("msg_id")]
        arrived = [
            Arrived(
                channel=self.channel,
                provider_id=str(r["msg_id"]),
                sender=str(r.get("from_user_id") or ""),
                sender_name=str(r.get("nick_name") or ""),
                text=str(r.get("content") or ""),
                at=_alipay_time(str(r.get("create_time") or "")),
            )
            for r in rows
        ]
        return Page(arrived, str(answer.get("next_cursor") or cursor))

    def send(self, message: Message) -> Result:
        biz = {
            "to_user_id": message.to,
            "msg_type": "text",
            "text": {"content": message.body},
            "out_biz_no": str(message.message_id),  # Alipay drops a repeat of it
        }
        try:
            answer = self._call("alipay.open.public.message.custom.send", biz)
        except httpx.TimeoutException as exc:
            return Result(ok=False, error=f"timeout: {exc}"[:300], unknown=True)
        except (httpx.HTTPError, FetchError) as exc:
            return Result(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        if answer.get("code") == "10000":
            return Result(ok=True, ref=str(answer.get("msg_id", "")))
        code = str(answer.get("sub_code") or answer.get("code") or "")
        return Result(
            ok=False,
            error=f"{code}: {answer.get('sub_msg') or answer.get('msg', '')}"[:300],
            retry=code in self.RETRY or str(answer.get("code")) in self.RETRY,
        )

    def lookup(self, message: Message) -> Result | None:
        # The gateway drops a repeat of the same out_biz_no: sending again is safe.
        return None


def _alipay_time(text: str) -> dt.datetime | None:
    from qingquan.core import clock

    try:
        return _sane(dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=clock.SHANGHAI))
    except (TypeError, ValueError):
        return None


def adapter(channel: str) -> SocialAdapter:
    if channel == Channel.WEIBO:
        return WeiboAdapter()
    if channel == Channel.ALIPAY:
        return AlipayLifeAdapter()
    raise KeyError(channel)


def configured_channels() -> list[str]:
    """The platforms whose endpoint and keys are set."""
    return [c for c in (Channel.WEIBO, Channel.ALIPAY) if adapter(c).configured()]
