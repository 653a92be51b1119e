"""Rules of notices that need no database: per-kind settings (lead time and its clock,
urgency), the lead-time check, and the text of the messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core import sla as sla_engine

DEFAULT_KINDS: dict[str, dict[str, Any]] = {
    "planned": {"lead_hours": 24, "clock": "calendar", "urgent": False},
    "unplanned": {"lead_hours": 0, "clock": "calendar", "urgent": True},
    "low_pressure": {"lead_hours": 0, "clock": "calendar", "urgent": False},
    "water_quality": {"lead_hours": 0, "clock": "calendar", "urgent": True},
}


@dataclass(frozen=True)
class KindRule:
    lead_hours: float
    clock: str  # "calendar" or "working_days"
    urgent: bool  # sent in quiet hours too


def kind_rule(kind: str) -> KindRule:
    """The rule of a kind: settings.NOTICES_KINDS over the defaults."""
    merged = {**DEFAULT_KINDS.get(kind, DEFAULT_KINDS["unplanned"])}
    merged.update(getattr(settings, "NOTICES_KINDS", {}).get(kind, {}))
    return KindRule(
        lead_hours=float(merged["lead_hours"]),
        clock=str(merged["clock"]),
        urgent=bool(merged["urgent"]),
    )


def lead_seconds(kind: str, *, now: dt.datetime, starts_at: dt.datetime) -> float:
    """The notice's lead time on the kind's clock (calendar or working days)."""
    if starts_at <= now:
        return 0.0
    rule = kind_rule(kind)
    if rule.clock == "calendar":
        return (starts_at - now).total_seconds()
    from qingquan.core.calendar import load_calendar

    engine_clock = sla_engine.Clock(kind=sla_engine.ClockKind(rule.clock), calendar=load_calendar())
    return sla_engine.counted_seconds(clock=engine_clock, start=now, end=starts_at).seconds


def is_late(kind: str, *, now: dt.datetime, starts_at: dt.datetime) -> bool:
    """True when a notice of `kind` published `now` breaks its kind's lead rule."""
    rule = kind_rule(kind)
    if rule.lead_hours <= 0:
        return False
    return lead_seconds(kind, now=now, starts_at=starts_at) < rule.lead_hours * 3600


def _local(at: dt.datetime) -> str:
    return at.astimezone(clock.SHANGHAI).strftime("%m月%d日%H:%M")


def message_params(notice: Any, event: str) -> dict[str, str]:
    """The template parameters (the SMS provider's template and WeChat's fields)."""
    return {
        "kind": str(notice.get_kind_display()),
        "area": (notice.area_text or notice.title)[:60],
        "start": _local(notice.starts_at),
        "end": _local(notice.expected_end_at),
        "reason": notice.reason[:60],
        "supply": notice.alternative_supply[:60],
        "contact": notice.contact or "96390",
        "number": notice.number,
        "event": event,
    }


def message_text(notice: Any, event: str) -> str:
    """The SMS / e-mail text of a notice's publication, update or restoration (Chinese:
    customers are told in Chinese whatever the staff member's language)."""
    with translation.override("zh-hans"):
        p = message_params(notice, event)
        p["kind"] = str(notice.get_kind_display())
        if event == "restored":
            text = _("%(area)s: supply is restored. Thank you for your patience.") % p
        elif event == "updated":
            text = _("Update on %(kind)s, %(area)s: now %(start)s to %(end)s, %(reason)s.") % p
        else:
            text = _("%(kind)s notice, %(area)s: %(start)s to %(end)s, %(reason)s.") % p
        if event != "restored" and notice.alternative_supply:
            text += _(" Water tankers: %(supply)s.") % p
        text += _(" Enquiries: %(contact)s. Reply T to unsubscribe.") % p
        return text
