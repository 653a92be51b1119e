"""Pure rules of outbound messages: SMS length and segments, quiet hours, the send rate."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from typing import Any

from django.conf import settings

from qingquan.core import clock

# A GSM-7 SMS holds 160 characters, a UCS-2 one (any Chinese) 70; a long message is split
# into parts of 153 / 67 (the rest is the concatenation header). Chinese gateways count
# the signature 【…】 in the text.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def conf(name: str, default: object = None) -> object:
    return getattr(settings, "MESSAGING", {}).get(name, default)


def sms_text(body: str) -> str:
    """The text as the handset shows it: the signature first, as Chinese gateways add it."""
    sign = str(conf("SMS_SIGN_NAME", "") or "")
    return f"【{sign}】{body}" if sign else body


def sms_length(body: str) -> tuple[int, int]:
    """(characters, segments) of an SMS with its signature."""
    text = sms_text(body)
    n = len(text)
    if all(ch in GSM7 for ch in text):
        single, part = 160, 153
    else:
        single, part = 70, 67
    if n <= single:
        return n, 1
    return n, math.ceil(n / part)


def quiet_hours() -> tuple[int, int]:
    hours: Any = conf("QUIET_HOURS", (22, 7))
    return int(hours[0]), int(hours[1])


def quiet_until(at: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours `at` falls in (Asia/Shanghai), or None outside them."""
    start, end = quiet_hours()
    local = at.astimezone(clock.SHANGHAI)
    if start == end:
        return None
    inside = local.hour >= start or local.hour < end if start > end else start <= local.hour < end
    if not inside:
        return None
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(end), tzinfo=clock.SHANGHAI)


def first_send_at(at: dt.datetime, *, urgent: bool) -> dt.datetime:
    """When a message written at `at` may go: at once if urgent, else after quiet hours."""
    if urgent:
        return at
    return quiet_until(at) or at


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the `attempts`-th failed attempt: 10 s, 20 s, 40 s … at most one hour."""
    base = float(conf("BACKOFF_SECONDS", 10))  # type: ignore[arg-type]
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def send_concurrency() -> int:
    """Requests to one provider in flight at once (MESSAGING["SEND_CONCURRENCY"], 4)."""
    return max(1, int(conf("SEND_CONCURRENCY", 4)))  # type: ignore[call-overload]


def max_attempts() -> int:
    return int(conf("MAX_ATTEMPTS", 8))  # type: ignore[call-overload]


class Throttle:
    """At most `rate` sends a second in this process on average: a token bucket holding
    `BURST_SECONDS` of sends. Paced one by one with no bucket, every pause the worker
    spends on the database between batches (claiming, recording: ~70 ms a hundred
    messages on PostgreSQL) was lost to the provider's rate; the bucket lets the sends
    after a pause catch up by at most 50 ms worth (10 at 200/s), so no second sees more
    than 5 % above the rate."""

    BURST_SECONDS = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self, rate: float) -> None:
        if rate <= 0:
            return
        interval = 1.0 / rate
        with self._lock:
            now = time.monotonic()
            # `_next` is the earliest time of the next send; lagging behind `now` is credit,
            # kept only up to the bucket's size.
            at = max(self._next, now - max(self.BURST_SECONDS, interval) + interval)
            self._next = at + interval
        if at > now:
            time.sleep(at - now)


THROTTLES: dict[str, Throttle] = {}


def throttle(channel: str) -> None:
    rates: Any = conf("RATE_PER_SECOND", {}) or {}
    rate = float(rates.get(channel, 0))
    THROTTLES.setdefault(channel, Throttle()).wait(rate)
