"""The KPIs of interruption notices (issue 18, item 8), over the published notices that
start in a period (`starts_at` in [start, end)); the statistics pages, their Excel and PDF
exports and the public commitments page read them from here.

Definitions (docs/kpis.md, "Interruption notices"):
* lead time of a planned notice = its first publication → the start it announced (the
  first version's figures); it meets the lead rule when the kind's rule (24 hours by
  default, on the kind's calendar or working-day clock: `rules.is_late`) was kept;
* reach = frozen recipients (the accounts of every version) whose mobile number got an
  SMS of that version with a *delivered* receipt ÷ all frozen recipients; accounts
  without a mobile number count as not reached;
* customer-minutes interrupted = Σ over planned and unplanned notices and their versions
  of (accounts cut off, low-pressure-only accounts excluded) × minutes the version was in
  force: from its start (or its publication, for an update) to the next version, the
  restoration, or now while the water is still off;
* restoration against the expected end = restored notices whose restoration came by the
  expected end first published (the promise), and the mean difference in minutes
  (negative: early).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet

from qingquan.core import clock
from qingquan.messaging.models import Channel, Message, Receipt
from qingquan.notices import rules
from qingquan.notices.models import (
    Notice,
    NoticeKind,
    NoticeRecipient,
    NoticeVersion,
    VersionEvent,
)
from qingquan.notices.services import SOURCE
from qingquan.staff.access import check

INTERRUPTIONS = (NoticeKind.PLANNED, NoticeKind.UNPLANNED)
# The drill-down filters of the staff notice list (`notices_in_period`).
FILTERS = ("planned", "lead_met", "lead_missed", "restored", "restored_late")


@dataclass
class NoticeKpis:
    """The notice KPIs of one period (counts, with the rates as properties)."""

    notices: int = 0
    planned: int = 0
    lead_met: int = 0
    lead_hours_median: float | None = None
    lead_hours_min: float | None = None
    recipients: int = 0
    reached: int = 0
    messages: int = 0
    delivered: int = 0
    customer_minutes: int = 0
    restored: int = 0
    restored_on_time: int = 0
    overrun_minutes_mean: float | None = None
    rule_hours: float = 24.0
    rule_clock: str = "calendar"

    @property
    def lead_share(self) -> float | None:
        return self.lead_met / self.planned if self.planned else None

    @property
    def reach_share(self) -> float | None:
        return self.reached / self.recipients if self.recipients else None

    @property
    def restoration_share(self) -> float | None:
        return self.restored_on_time / self.restored if self.restored else None

    @property
    def lead_missed(self) -> int:
        return self.planned - self.lead_met

    @property
    def restored_late(self) -> int:
        return self.restored - self.restored_on_time

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: getattr(self, k) for k in self.__dataclass_fields__},
            "lead_share": self.lead_share,
            "reach_share": self.reach_share,
            "restoration_share": self.restoration_share,
        }


def _started_between(start: dt.datetime, end: dt.datetime) -> QuerySet[Notice]:
    return Notice.objects.public().filter(starts_at__gte=start, starts_at__lt=end)


def _first_versions(notice_ids: list[int]) -> dict[int, NoticeVersion]:
    return {
        v.notice_id: v for v in NoticeVersion.objects.filter(notice_id__in=notice_ids, number=1)
    }


def lead_rows(notices: list[Notice], firsts: dict[int, NoticeVersion]) -> list[tuple[Any, ...]]:
    """(notice, lead hours, rule kept) of each planned notice, from its first version."""
    out = []
    for n in notices:
        v = firsts.get(n.pk)
        if n.kind != NoticeKind.PLANNED or v is None:
            continue
        hours = (v.starts_at - v.published_at).total_seconds() / 3600
        kept = not rules.is_late(n.kind, now=v.published_at, starts_at=v.starts_at)
        out.append((n, hours, kept))
    return out


def _reach(version_ids: list[int]) -> tuple[int, int, int, int]:
    """(frozen recipients, reached, messages queued, delivered) of these versions."""
    if not version_ids:
        return 0, 0, 0, 0
    recipients = NoticeRecipient.objects.filter(version_id__in=version_ids)
    delivered_sms = Message.objects.filter(
        source=SOURCE,
        source_id=OuterRef("version_id"),
        channel=Channel.SMS,
        to=OuterRef("phone"),
        receipt=Receipt.DELIVERED,
    )
    messages = Message.objects.filter(source=SOURCE, source_id__in=version_ids)
    return (
        recipients.count(),
        recipients.exclude(phone="").filter(Exists(delivered_sms)).count(),
        messages.count(),
        messages.filter(receipt=Receipt.DELIVERED).count(),
    )


def _customer_minutes(notices: list[Notice], now: dt.datetime) -> int:
    """Σ accounts cut off × minutes, version by version (see the module's docstring)."""
    ids = [n.pk for n in notices if n.kind in INTERRUPTIONS]
    if not ids:
        return 0
    versions: dict[int, list[NoticeVersion]] = {}
    for v in NoticeVersion.objects.filter(notice_id__in=ids).order_by("notice_id", "number"):
        versions.setdefault(v.notice_id, []).append(v)
    cut_off = dict(
        NoticeRecipient.objects.filter(version__notice_id__in=ids, low_pressure=False)
        .values_list("version_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    total = 0.0
    for n in notices:
        chain = versions.get(n.pk, [])
        end_of_all = n.restored_at or now
        for i, v in enumerate(chain):
            if v.event == VersionEvent.RESTORED:
                break
            begins = v.starts_at if i == 0 else max(v.starts_at, v.published_at)
            nxt = chain[i + 1].published_at if i + 1 < len(chain) else end_of_all
            ends = min(nxt, end_of_all)
            if ends > begins:
                total += cut_off.get(v.pk, 0) * (ends - begins).total_seconds() / 60
    return round(total)


def _restoration(
    notices: list[Notice], firsts: dict[int, NoticeVersion]
) -> tuple[int, int, float | None]:
    """(restored, by the first expected end, mean minutes after it)."""
    diffs = [
        (n.restored_at - firsts[n.pk].expected_end_at).total_seconds() / 60
        for n in notices
        if n.restored_at is not None and n.pk in firsts
    ]
    on_time = sum(1 for d in diffs if d <= 0)
    return len(diffs), on_time, (round(statistics.fmean(diffs), 1) if diffs else None)


def figures(*, start: dt.datetime, end: dt.datetime) -> NoticeKpis:
    """The notice KPIs of the notices starting in [start, end), with no access check:
    counts only, nothing personal (the public commitments page reads the lead rule from
    here; staff pages go through `notice_kpis`)."""
    notices = list(_started_between(start, end))
    firsts = _first_versions([n.pk for n in notices])
    leads = lead_rows(notices, firsts)
    hours = [h for _n, h, _k in leads]
    version_ids = list(
        NoticeVersion.objects.filter(notice__in=[n.pk for n in notices]).values_list(
            "pk", flat=True
        )
    )
    recipients, reached, messages, delivered = _reach(version_ids)
    restored, on_time, overrun = _restoration(notices, firsts)
    rule = rules.kind_rule(NoticeKind.PLANNED)
    return NoticeKpis(
        notices=len(notices),
        planned=len(leads),
        lead_met=sum(1 for _n, _h, kept in leads if kept),
        lead_hours_median=round(statistics.median(hours), 1) if hours else None,
        lead_hours_min=round(min(hours), 1) if hours else None,
        recipients=recipients,
        reached=reached,
        messages=messages,
        delivered=delivered,
        customer_minutes=_customer_minutes(notices, clock.now()),
        restored=restored,
        restored_on_time=on_time,
        overrun_minutes_mean=overrun,
        rule_hours=rule.lead_hours,
        rule_clock=rule.clock,
    )


def notice_kpis(*, user: Any, start: dt.datetime, end: dt.datetime) -> NoticeKpis:
    """`figures` for a member of staff who may see notices (notices.view)."""
    check(user, "notices.view")
    return figures(start=start, end=end)


def notices_in_period(
    *, user: Any, start: dt.datetime, end: dt.datetime, which: str = ""
) -> list[tuple[Notice, float | None, bool | None]]:
    """The notices behind one figure of `notice_kpis` (drill-down): every notice starting
    in the period, or only the planned ones, those that kept or missed the lead rule, the
    restored ones, those restored after the expected end first published. Each with its
    lead hours and whether it kept the rule (planned notices; None otherwise)."""
    check(user, "notices.view")
    notices = list(_started_between(start, end).order_by("starts_at", "pk"))
    firsts = _first_versions([n.pk for n in notices])
    leads = {n.pk: (h, kept) for n, h, kept in lead_rows(notices, firsts)}
    rows = [(n, *leads.get(n.pk, (None, None))) for n in notices]
    if which == "planned":
        return [r for r in rows if r[0].pk in leads]
    if which in ("lead_met", "lead_missed"):
        return [r for r in rows if r[2] is (which == "lead_met")]
    if which in ("restored", "restored_late"):
        kept = []
        for r in rows:
            n = r[0]
            if n.restored_at is None or n.pk not in firsts:
                continue
            if which == "restored" or n.restored_at > firsts[n.pk].expected_end_at:
                kept.append(r)
        return kept
    return rows


def lines(k: NoticeKpis) -> list[dict[str, Any]]:
    """The four KPIs as labelled lines (the statistics page, Excel and PDF): a rate or a
    figure, the counts behind it, and the drill-down filter of its notices."""
    from django.utils.translation import gettext as _

    def num(value: float | None, unit: str = "") -> str:
        return "—" if value is None else f"{value:g}{unit}"

    hours = f"{k.rule_hours:g}"
    return [
        {
            "key": "lead",
            "label": _("Planned notices published at least %(hours)s hours ahead")
            % {"hours": hours},
            "rate": k.lead_share,
            "value": k.lead_met,
            "detail": _(
                "%(met)s of %(planned)s planned notices; lead time median %(median)s h, "
                "shortest %(shortest)s h"
            )
            % {
                "met": k.lead_met,
                "planned": k.planned,
                "median": num(k.lead_hours_median),
                "shortest": num(k.lead_hours_min),
            },
            "drill": "planned",
            "drill_late": "lead_missed",
            "late": k.lead_missed,
        },
        {
            "key": "reach",
            "label": _("Affected customers reached (SMS delivered)"),
            "rate": k.reach_share,
            "value": k.reached,
            "detail": _(
                "%(reached)s of %(recipients)s notified accounts; %(delivered)s of "
                "%(messages)s messages delivered"
            )
            % {
                "reached": k.reached,
                "recipients": k.recipients,
                "delivered": k.delivered,
                "messages": k.messages,
            },
            "drill": "",
        },
        {
            "key": "minutes",
            "label": _("Customer-minutes interrupted"),
            "rate": None,
            "value": k.customer_minutes,
            "detail": _("accounts cut off × minutes, planned and unplanned; %(n)s notices")
            % {"n": k.notices},
            "drill": "",
        },
        {
            "key": "restoration",
            "label": _("Supply restored by the expected end"),
            "rate": k.restoration_share,
            "value": k.restored_on_time,
            "detail": _(
                "%(on_time)s of %(restored)s restored by the expected end first published; "
                "on average %(minutes)s minutes after it"
            )
            % {
                "on_time": k.restored_on_time,
                "restored": k.restored,
                "minutes": num(k.overrun_minutes_mean),
            },
            "drill": "restored",
            "drill_late": "restored_late",
            "late": k.restored_late,
        },
    ]
