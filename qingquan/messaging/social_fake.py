"""The fake Weibo API and Alipay open gateway of the fake gateways (`messaging/fake.py`,
under /weibo/ and /alipay/): the public writes to us (`weibo_post`, `alipay_post`, or
POST /weibo/post and /alipay/post in the demo), the poller reads the feeds after its
cursor, and our answers are recorded in `sent`. It checks the access token and the
gateway's sign as the platforms do, refuses a repeated answer as they do (Weibo: 20019
repeated content; Alipay: the same out_biz_no), and `fail_next` answers sends with 503."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any
from urllib.parse import parse_qs

WEIBO_TIME = "%a %b %d %H:%M:%S +0800 %Y"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _now(layout: str) -> str:
    """Now in China time, as the platforms write it."""
    return dt.datetime.now(SHANGHAI).strftime(layout)


class SocialFake:
    def __init__(
        self,
        *,
        weibo_token: str = "fake",  # noqa: S107 (the fake's own demo token)
        alipay_app_id: str = "fake",
        alipay_key: str = "fake",
    ) -> None:
        self.weibo_token = weibo_token
        self.alipay_app_id = alipay_app_id
        self.alipay_key = alipay_key
        self.feeds: dict[str, list[dict[str, Any]]] = {"mentions": [], "messages": [], "alipay": []}
        self.sent: list[dict[str, Any]] = []
        self.polls: list[tuple[str, str]] = []  # (feed, cursor asked)
        self.fail_next = 0
        self._seen: set[tuple[str, str]] = set()
        self._next_id = 4_900_000_000_000_000
        self._lock = threading.Lock()

    # -- the public writes to us ---------------------------------------------------------
    def _id(self) -> int:
        self._next_id += 17
        return self._next_id

    def weibo_post(self, uid: str, name: str, text: str, *, mention: bool = False) -> str:
        """A Weibo user mentions us in a post, or sends us a private message; its id."""
        with self._lock:
            pk = str(self._id())
            who = {"idstr": uid, "screen_name": name}
            row = {"idstr": pk, "id": int(pk), "text": text, "created_at": _now(WEIBO_TIME)}
            row["user" if mention else "sender"] = who
            self.feeds["mentions" if mention else "messages"].append(row)
        return pk

    def alipay_post(self, user_id: str, nick: str, text: str) -> str:
        """An Alipay user writes to the life account; the message id."""
        with self._lock:
            pk = f"ALP{self._id()}"
            self.feeds["alipay"].append(
                {
                    "msg_id": pk,
                    "from_user_id": user_id,
                    "nick_name": nick,
                    "content": text,
                    "create_time": _now("%Y-%m-%d %H:%M:%S"),
                }
            )
        return pk

    # -- HTTP ----------------------------------------------------------------------------
    def get(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        feed = {
            "/weibo/2/statuses/mentions.json": "mentions",
            "/weibo/2/direct_messages.json": "messages",
        }.get(path)
        if feed is None:
            return 404, {"error": "not found"}
        if query.get("access_token") != self.weibo_token:
            return 200, {"error_code": 21332, "error": "invalid_access_token"}
        since = int(query.get("since_id") or 0)
        count = min(int(query.get("count") or 20), 200)
        with self._lock:
            self.polls.append((feed, str(since)))
            rows = [r for r in self.feeds[feed] if r["id"] > since][:count]
        key = "statuses" if feed == "mentions" else "direct_messages"
        return 200, {key: list(reversed(rows)), "total_number": len(rows)}

    def post(self, path: str, raw: bytes) -> tuple[int, Any]:
        if path == "/weibo/post":
            data = json.loads(raw or b"{}")
            pk = self.weibo_post(
                str(data.get("uid", "")),
                str(data.get("name", "")),
                str(data.get("text", "")),
                mention=bool(data.get("mention")),
            )
            return 200, {"idstr": pk}
        if path == "/alipay/post":
            data = json.loads(raw or b"{}")
            pk = self.alipay_post(
                str(data.get("user_id", "")), str(data.get("nick", "")), str(data.get("text", ""))
            )
            return 200, {"msg_id": pk}
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if path in ("/weibo/2/comments/create.json", "/weibo/2/direct_messages/new.json"):
            return self._weibo_send(path, form)
        if path == "/alipay/gateway.do":
            return self._alipay(form)
        return 404, {"error": "not found"}

    def _weibo_send(self, path: str, form: dict[str, str]) -> tuple[int, Any]:
        if form.get("access_token") != self.weibo_token:
            return 200, {"error_code": 21332, "error": "invalid_access_token"}
        comment = path.endswith("comments/create.json")
        target = form.get("id" if comment else "uid", "")
        text = form.get("comment" if comment else "text", "")
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error_code": 10001, "error": "system error"}
            if not target or not text:
                return 200, {"error_code": 10016, "error": "miss required parameter"}
            if ("weibo:" + target, text) in self._seen:
                return 200, {"error_code": 20019, "error": "repeated content"}
            self._seen.add(("weibo:" + target, text))
            pk = str(self._id())
            self.sent.append(
                {
                    "channel": "weibo",
                    "kind": "comment" if comment else "message",
                    "to": target,
                    "text": text,
                    "ref": pk,
                }
            )
        return 200, {"idstr": pk}

    def _alipay(self, form: dict[str, str]) -> tuple[int, Any]:
        from qingquan.messaging.social import alipay_sign

        method = form.get("method", "")
        name = method.replace(".", "_") + "_response"
        if form.get("app_id") != self.alipay_app_id or form.get("sign") != alipay_sign(
            form, self.alipay_key
        ):
            return 200, {
                name: {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "sign check fail",
                }
            }
        biz = json.loads(form.get("biz_content") or "{}")
        if method == "alipay.open.public.message.query":
            since = str(biz.get("since_id") or "")
            with self._lock:
                self.polls.append(("alipay", since))
                rows = self.feeds["alipay"]
                start = next((i + 1 for i, r in enumerate(rows) if r["msg_id"] == since), 0)
                page = rows[start : start + int(biz.get("limit") or 50)]
            cursor = page[-1]["msg_id"] if page else since
            return 200, {
                name: {"code": "10000", "msg": "Success", "messages": page, "next_cursor": cursor}
            }
        if method == "alipay.open.public.message.custom.send":
            with self._lock:
                if self.fail_next > 0:
                    self.fail_next -= 1
                    return 503, {"error": "busy"}
                out = str(biz.get("out_biz_no") or "")
                if ("alipay:" + out, "") in self._seen:
                    return 200, {name: {"code": "10000", "msg": "Success", "msg_id": "repeat"}}
                self._seen.add(("alipay:" + out, ""))
                pk = f"ALS{self._id()}"
                self.sent.append(
                    {
                        "channel": "alipay",
                        "kind": "message",
                        "to": biz.get("to_user_id"),
                        "text": (biz.get("text") or {}).get("content", ""),
                        "ref": pk,
                    }
                )
            return 200, {name: {"code": "10000", "msg": "Success", "msg_id": pk}}
        return 200, {
            name: {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}
        }
