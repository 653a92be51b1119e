"""The SPEC KPIs read from the rollups, with breakdowns and access; and the raw rows
behind every figure (drill-down), filtered by exactly the same rules.

Definitions (SPEC "KPIs"):
* contacts handled = contacts started in the period (by channel, by agent);
* closure rate = cases created in the period now resolved or closed ÷ cases created;
* on-time rate = on time ÷ (on time + late), where each case counts once: as on time in
  the period it was resolved within its limit (and never overdue), or as late in the
  period its deadline passed unresolved, whether it was resolved later or is still open
  (`TicketQuerySet.on_time_between` / `late_between`; docs/kpis.md);
* callback satisfaction = (satisfied + fairly satisfied) ÷ callbacks that reached the
  customer and gave a rating (satisfied + fairly + dissatisfied), over callbacks completed
  in the period. Unreachable callbacks, and customers who declined to answer, are counted
  and shown next to the rate, not in its denominator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.reports import rollup
from qingquan.reports.models import (
    CALLBACK_MEASURES,
    MEASURES,
    METRICS,
    ContactDaily,
    KpiDaily,
)
from qingquan.reports.periods import Period
from qingquan.staff.access import can
from qingquan.surveys.models import CallbackTask
from qingquan.tickets.models import DONE_STATES, Channel, Contact, Ticket

BREAKDOWNS = {
    "kind": gettext_lazy("Kind"),
    "district": gettext_lazy("District"),
    "channel": gettext_lazy("Channel"),
    "agent": gettext_lazy("Agent"),
    "department": gettext_lazy("Department"),
}
COLUMN = {
    "kind": "kind",
    "district": "district",
    "channel": "channel",
    "agent": "owner_id",
    "department": "department_id",
}


class ReportError(ValueError):
    """Bad report parameters (a 400 with a message)."""


@dataclass
class Row:
    """One line of the KPI table: every count, and the three rates."""

    key: str | None
    label: str
    contacts: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        if name in MEASURES:
            return self.counts.get(name, 0)
        raise AttributeError(name)

    @property
    def timed(self) -> int:
        """The on-time rate's denominator: on time plus late (each case once)."""
        return self.counts.get("on_time", 0) + self.counts.get("late", 0)

    @property
    def rated(self) -> int:
        c = self.counts
        return c.get("cb_satisfied", 0) + c.get("cb_fairly", 0) + c.get("cb_dissatisfied", 0)

    @property
    def closure_rate(self) -> float | None:
        c = self.counts
        return c.get("done", 0) / c["created"] if c.get("created") else None

    @property
    def on_time_rate(self) -> float | None:
        return self.counts.get("on_time", 0) / self.timed if self.timed else None

    @property
    def satisfaction(self) -> float | None:
        c = self.counts
        return (
            (c.get("cb_satisfied", 0) + c.get("cb_fairly", 0)) / self.rated if self.rated else None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "contacts": self.contacts,
            **{m: self.counts.get(m, 0) for m in MEASURES},
            "closure_rate": self.closure_rate,
            "on_time_rate": self.on_time_rate,
            "satisfaction": self.satisfaction,
        }


def scope_for(user: Any) -> int | None:
    """None for everything; a user id when ``user`` sees only their own cases."""
    if not can(user, "reports.view"):
        raise PermissionError("reports.view")
    return None if can(user, "reports.view_all") else int(user.pk)


def labels(by: str, keys: list[Any]) -> dict[Any, str]:
    """Display names for breakdown values (kind codes, user and department ids…)."""
    if by == "kind":
        from qingquan.tickets.models import CaseKind

        return dict(CaseKind.objects.filter(code__in=keys).values_list("code", "name"))
    if by == "district":
        from qingquan.areas.models import District

        found = dict(District.objects.filter(code__in=keys).values_list("code", "name"))
        found[""] = _("No district")
        return found
    if by == "channel":
        return {k: str(v) for k, v in Channel.choices}
    if by == "agent":
        from qingquan.staff.models import User

        return {
            pk: name or username
            for pk, name, username in User.objects.filter(pk__in=keys).values_list(
                "pk", "full_name", "username"
            )
        }
    if by == "department":
        from qingquan.staff.models import Department

        departments: dict[Any, str] = dict(
            Department.objects.filter(pk__in=keys).values_list("pk", "name")
        )
        departments[0] = _("Hotline (no department)")
        return departments
    return {}


def _rollups(period: Period, owner: int | None) -> tuple[QuerySet[Any], QuerySet[Any]]:
    rollup.fold()  # counts still pending (PostgreSQL, decision 0009) join their rows first
    qs = KpiDaily.objects.filter(day__gte=period.start, day__lt=period.end)
    cqs = ContactDaily.objects.filter(day__gte=period.start, day__lt=period.end)
    if owner is not None:
        qs = qs.filter(owner_id=owner)
        cqs = cqs.filter(agent_id=owner)
    return qs, cqs


def totals(*, period: Period, owner: int | None = None, kind: str | None = None) -> Row:
    """The overall KPI row of ``period`` from the rollups — the one selector behind the
    statistics page and its exports, the wallboard's rates and the public commitments
    (callers check access: `kpi_table` by the viewer's scope; the wallboard and the public
    page show counts of all cases). ``owner`` narrows to one agent's cases, ``kind`` to a
    top-level kind's code."""
    qs, cqs = _rollups(period, owner)
    if kind is not None:
        qs = qs.filter(kind=kind)
    agg = qs.aggregate(**{m: Sum(m) for m in MEASURES})
    row = Row(key=None, label=_("All"), counts={m: agg[m] or 0 for m in MEASURES})
    row.contacts = cqs.aggregate(n=Sum("contacts"))["n"] or 0
    return row


def kpi_table(*, user: Any, period: Period, by: str | None = None) -> list[Row]:
    """The KPI rows for ``period``: one overall row (``by`` None) or one per value."""
    if by is not None and by not in BREAKDOWNS:
        raise ReportError(_("Unknown breakdown %(by)s.") % {"by": by})
    owner = scope_for(user)
    if by is None:
        return [totals(period=period, owner=owner)]
    qs, cqs = _rollups(period, owner)
    sums = {m: Sum(m) for m in MEASURES}
    column = COLUMN[by]
    rows: dict[Any, Row] = {}
    for values in qs.values(column).annotate(**sums).order_by(column):
        rows[values[column]] = Row(
            key=str(values[column]), label="", counts={m: values[m] or 0 for m in MEASURES}
        )
    for key, n in _contacts_by(by, period, owner, cqs):
        rows.setdefault(key, Row(key=str(key), label="")).contacts = n or 0
    names = labels(by, list(rows))
    for key, row in rows.items():
        row.label = str(names.get(key, key))
    return [r for _k, r in sorted(rows.items(), key=lambda kv: str(kv[0]))]


# How contacts (受理量) split by a breakdown that is not one of their own columns: by the
# cases they were about (a contact linked to cases of two kinds counts under each; one
# about no case under none), counted from the raw rows of the period.
CONTACT_CASE_COLUMN = {
    "kind": Coalesce("tickets__kind__parent__code", "tickets__kind__code"),
    "district": Coalesce("tickets__district__code", Value("")),
    "department": Coalesce("tickets__department_id", Value(0)),
}


def _contacts_by(by: str, period: Period, owner: int | None, cqs: Any) -> list[tuple[Any, int]]:
    """(breakdown value, contacts handled) pairs for ``by``."""
    contact_column = {"channel": "channel", "agent": "agent_id"}.get(by)
    if contact_column:
        return list(cqs.values_list(contact_column).annotate(n=Sum("contacts")).order_by())
    qs = Contact.objects.filter(
        started_at__gte=period.start_at, started_at__lt=period.end_at, tickets__isnull=False
    )
    if owner is not None:
        qs = qs.filter(agent_id=owner)
    return list(
        qs.annotate(d_key=CONTACT_CASE_COLUMN[by])
        .values_list("d_key")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )


def comparison(*, user: Any, period: Period) -> dict[str, Any]:
    """The overall figures of ``period`` and of the period before, with the changes."""
    now = kpi_table(user=user, period=period)[0]
    before = kpi_table(user=user, period=period.previous())[0]

    def change(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    return {
        "current": now,
        "previous": before,
        "closure_change": change(now.closure_rate, before.closure_rate),
        "on_time_change": change(now.on_time_rate, before.on_time_rate),
        "satisfaction_change": change(now.satisfaction, before.satisfaction),
        "contacts_change": now.contacts - before.contacts,
    }


# ---------------------------------------------------------------------------
# Drill-down: the rows behind a figure
# ---------------------------------------------------------------------------


def _ticket_key_filter(by: str | None, key: str | None, prefix: str = "") -> Q:
    if by is None or key is None:
        return Q()
    if by not in BREAKDOWNS:
        raise ReportError(_("Unknown breakdown %(by)s.") % {"by": by})
    p = prefix
    if by == "kind":
        return Q(**{f"{p}kind__code": key, f"{p}kind__parent__isnull": True}) | Q(
            **{f"{p}kind__parent__code": key}
        )
    if by == "district":
        return (
            Q(**{f"{p}district__isnull": True}) if key == "" else Q(**{f"{p}district__code": key})
        )
    if by == "channel":
        return Q(**{f"{p}channel": key})
    try:
        number = int(key)
    except ValueError:
        raise ReportError(_("Unknown value %(key)s.") % {"key": key}) from None
    if by == "agent":
        return Q(**{f"{p}owner_id": number})
    return (
        Q(**{f"{p}department__isnull": True}) if number == 0 else Q(**{f"{p}department_id": number})
    )


def drill(
    *, user: Any, period: Period, metric: str, by: str | None = None, key: str | None = None
) -> QuerySet[Any]:
    """The cases, callbacks or contacts counted in one figure of ``kpi_table``."""
    if metric not in METRICS:
        raise ReportError(_("Unknown figure %(metric)s.") % {"metric": metric})
    owner = scope_for(user)
    start, end = period.start_at, period.end_at
    if metric == "contacts":
        qs: QuerySet[Any] = Contact.objects.filter(started_at__gte=start, started_at__lt=end)
        if by == "channel" and key is not None:
            qs = qs.filter(channel=key)
        elif by == "agent" and key is not None:
            qs = qs.filter(agent_id=int(key) if key.isdigit() else -1)
        elif by is not None and key is not None:
            about = Ticket.objects.filter(_ticket_key_filter(by, key))
            qs = qs.filter(tickets__in=about).distinct()
        if owner is not None:
            qs = qs.filter(agent_id=owner)
        return qs.select_related("agent").order_by("started_at", "id")
    if metric.startswith("cb_"):
        outcome = next(o for o, m in CALLBACK_MEASURES.items() if m == metric)
        cqs = CallbackTask.objects.filter(
            ticket__isnull=False,
            status=CallbackTask.Status.DONE,
            outcome=outcome,
            completed_at__gte=start,
            completed_at__lt=end,
        ).filter(_ticket_key_filter(by, key, "ticket__"))
        if owner is not None:
            cqs = cqs.filter(ticket__owner_id=owner)
        return cqs.select_related("ticket", "ticket__kind", "assignee").order_by(
            "completed_at", "id"
        )
    tqs = Ticket.objects.filter(_ticket_key_filter(by, key))
    if owner is not None:
        tqs = tqs.filter(owner_id=owner)
    if metric in ("created", "done"):
        tqs = tqs.created_between(start, end)
        if metric == "done":
            tqs = tqs.filter(state__in=DONE_STATES)
    elif metric == "on_time":
        tqs = tqs.on_time_between(start, end)
    elif metric == "late":
        tqs = tqs.late_between(start, end)
    else:
        tqs = tqs.resolved_between(start, end)
    return tqs.select_related("kind", "owner", "district", "department").order_by(
        "created_at", "id"
    )
