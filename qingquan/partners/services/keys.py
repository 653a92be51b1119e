"""Every partner request: its key (cached per process) and its rate limit."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.partners.errors import (
    Forbidden,
    RateLimited,
)
from qingquan.partners.models import (
    ApiKey,
    PartnerClient,
    RateWindow,
    hash_key,
)

RATE_WINDOW_SECONDS = 60


# ---------------------------------------------------------------------------
# Authentication and rate limits (every partner request)
# ---------------------------------------------------------------------------


AUTH_CACHE_SECONDS = 10.0
_auth_cache: dict[str, tuple[float, ApiKey]] = {}
_auth_lock = threading.Lock()


def forget_keys(**_kwargs: Any) -> None:
    """Drop this process's cached keys (a key, client or user was saved or deleted)."""
    with _auth_lock:
        _auth_cache.clear()


def _key_for(token: str, digest: str) -> ApiKey | None:
    """The key row for `token` with its client and inbox owner, cached per process for
    AUTH_CACHE_SECONDS (cleared in this process by any save of a key, client or user:
    `signals.py`); another process sees a revocation within that time."""
    now = time.monotonic()
    with _auth_lock:
        cached = _auth_cache.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    parts = token.split("_")
    key = (
        ApiKey.objects.select_related("client", "client__intake_owner")
        .filter(prefix=parts[1])
        .first()
    )
    if key is None or not secrets.compare_digest(key.key_hash, digest):
        return None
    with _auth_lock:
        if len(_auth_cache) > 1000:
            _auth_cache.clear()
        _auth_cache[digest] = (now + AUTH_CACHE_SECONDS, key)
    return key


def authenticate(token: str) -> ApiKey | None:
    """The usable key whose plaintext is `token` (active client, not revoked), or None."""
    token = (token or "").strip()
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != "qq":
        return None
    key = _key_for(token, hash_key(token))
    if key is None or key.revoked_at is not None or not key.client.is_active:
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at > dt.timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# key prefix → [window, pending, last known count, last flush] (prefixes are random: a
# rolled-back key's state never passes to another)
_windows: dict[str, list[float]] = {}
_windows_lock = threading.Lock()
FLUSH_SECONDS = 1.0


def rate_limit_hit(*, key: ApiKey, now: dt.datetime | None = None) -> None:
    """Count one request on `key` in the current fixed one-minute window.

    Raises RateLimited (429, with the seconds until the window ends) past the client's
    limit. The counter is a row per (key, window), so every process of the platform
    shares it. Under a limit of fewer than 200 a minute every request is added to it at
    once (exact); above, a process adds its requests in batches of up to 1 % of the limit
    or once a second (decision 0009): a key then gets at most 1 % more per process, and
    the shared row is written once per batch instead of once per request.
    """
    now = now or clock.now()
    stamp = int(now.timestamp())
    window = stamp // RATE_WINDOW_SECONDS
    limit = key.client.rate_limit_per_minute
    batch = limit // 100
    if batch < 2:
        count = _count_request(key_id=key.pk, window=window)
        first = count == 1
    else:
        tick = time.monotonic()
        with _windows_lock:
            state = _windows.get(key.prefix)
            if state is None or state[0] != window:
                state = _windows[key.prefix] = [window, 0, 0, tick]
            state[1] += 1
            count = int(state[2] + state[1])
            flush = state[1] >= batch or tick - state[3] >= FLUSH_SECONDS or count > limit
            pending = int(state[1]) if flush else 0
            if flush:
                state[1], state[3] = 0, tick
        first = False
        if pending:
            count = _count_request(key_id=key.pk, window=window, n=pending)
            first = count == pending
            with _windows_lock:
                if state[0] == window:
                    state[2] = max(state[2], count)
                count = int(state[2] + state[1])
    if first:
        # A new window: yesterday's are of no use any more.
        RateWindow.objects.filter(key=key, window__lt=window - 1440).delete()
    if count > limit:
        retry_after = RATE_WINDOW_SECONDS - stamp % RATE_WINDOW_SECONDS
        raise RateLimited(
            _("Too many requests: at most %(n)s a minute per key.") % {"n": limit},
            retry_after=retry_after,
        )


def _count_request(*, key_id: int, window: int, n: int = 1) -> int:
    """Add `n` to the (key, window) counter and return it, in one upsert: two requests
    opening a window at once never meet a duplicate-key error."""
    table = RateWindow._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key_id, {quote('window')}, count) VALUES (%s, %s, %s) "  # noqa: S608 (the model's own table and column)
            f"ON CONFLICT (key_id, {quote('window')}) DO UPDATE "
            f"SET count = {table}.count + EXCLUDED.count RETURNING count",
            [key_id, window, n],
        )
        return int(cursor.fetchone()[0])


def require_scope(client: PartnerClient, scope: str) -> None:
    if not client.has_scope(scope):
        raise Forbidden(_("This client may not do this (scope %(scope)s).") % {"scope": scope})
