"""The IVR's "your interruption first" step, as a small interface.

:func:`active_notice_message` asks `qingquan.notices` (when that app is installed) for the
active interruption notice reaching the caller (by calling number or account number) and
returns the message to play; without the app, or with no notice, it returns "".
`settings.TELEPHONY_NOTICE_LOOKUP` (a dotted path to a function with the same signature)
replaces the lookup, e.g. for another notices system.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import import_string

from qingquan.customers import phones

log = logging.getLogger(__name__)


def _from_notices_app(*, phone: str, account: str) -> str:
    from qingquan.customers.models import Account

    selectors: Any = importlib.import_module("qingquan.notices.selectors")
    number = ""
    account_ids: list[int] = []
    parsed = phones.try_normalise(phone) if phone else None
    if parsed is not None:
        number = parsed[0]
        account_ids = list(
            Account.objects.filter(customer__phones__number=number).values_list("pk", flat=True)
        )
    found = selectors.active_for(account_ids=account_ids, phone=number, account=account[:20])
    if not found:
        return ""
    current = found[0].current
    current = current() if callable(current) else current
    return str(getattr(current, "message", "") or getattr(found[0], "reason", ""))


def active_notice_message(*, phone: str = "", account: str = "") -> str:
    """The message of the active interruption notice for this caller, or ""."""
    path = getattr(settings, "TELEPHONY_NOTICE_LOOKUP", "")
    try:
        if path:
            return str(import_string(path)(phone=phone, account=account) or "")
        if apps.is_installed("qingquan.notices"):
            return _from_notices_app(phone=phone, account=account)
    except Exception:  # the IVR must go on without the notice
        log.exception("interruption notice lookup failed")
    return ""
