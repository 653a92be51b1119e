"""Monthly rollups of the connections report (R-CON-3), their recomputation from the raw
rows, and the proof that the two agree.

An application counts once, in the month (Asia/Shanghai) it reached water on, under its
policy: one application, its utility's and customer's working seconds, its steps, its
document, whether it was on time, and its utility seconds in the month's histogram.
Water on is final (a finished application is never changed again, `services.base.lock`),
so `application_added` adds the contribution in the water-on transaction and never has
to take it back. `recompute` builds the same rows from the applications and their steps
alone; `consistency_check` lists every difference (none, when all is well) and
`reconcile` rewrites the rows that differ (the nightly task and
`manage.py connections_rollups --fix`).

Why a histogram: a 90th percentile cannot be summed or averaged from monthly figures. The
utility's time of every application in the month is kept as exact seconds → how many
applications took that long, so the nearest-rank percentile read from the rollup is the
one a sort of the raw rows gives, to the second (decision 0014).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count

from qingquan.connections.models import Application, ApplicationStep, AppState, MonthlyRollup
from qingquan.core import clock

Key = tuple[dt.date, str]  # (first day of the month, policy code)
SUMS = ("applications", "utility_seconds", "customer_seconds", "steps", "documents", "on_time")


@dataclass
class Totals:
    """The sums of one month and policy (or of several months: totals add up)."""

    applications: int = 0
    utility_seconds: int = 0
    customer_seconds: int = 0
    steps: int = 0
    documents: int = 0
    on_time: int = 0
    histogram: Counter[int] = field(default_factory=Counter)

    def add(
        self, *, utility: int, customer: int, steps: int, documents: int, on_time: bool
    ) -> None:
        self.applications += 1
        self.utility_seconds += utility
        self.customer_seconds += customer
        self.steps += steps
        self.documents += documents
        self.on_time += 1 if on_time else 0
        self.histogram[utility] += 1

    def merge(self, other: Totals) -> None:
        for name in SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.histogram.update(other.histogram)

    def percentile(self, share: float) -> int:
        """The nearest-rank percentile of the utility's seconds (0 when empty)."""
        rank = max(1, math.ceil(share * self.applications))
        seen = 0
        for seconds in sorted(self.histogram):
            seen += self.histogram[seconds]
            if seen >= rank:
                return seconds
        return 0

    def fields(self) -> dict[str, Any]:
        """The rollup row's columns."""
        values: dict[str, Any] = {name: getattr(self, name) for name in SUMS}
        values["histogram"] = {str(s): n for s, n in sorted(self.histogram.items()) if n}
        return values

    @classmethod
    def of(cls, row: MonthlyRollup) -> Totals:
        histogram = Counter({int(s): int(n) for s, n in (row.histogram or {}).items()})
        return cls(**{name: getattr(row, name) for name in SUMS}, histogram=histogram)


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of the Asia/Shanghai month of an instant."""
    return moment.astimezone(clock.SHANGHAI).date().replace(day=1)


def _locked_row(key: Key) -> MonthlyRollup:
    month, policy = key
    rows = MonthlyRollup.objects.select_for_update()
    row = rows.filter(month=month, policy=policy).first()
    if row is None:
        try:
            with transaction.atomic():
                MonthlyRollup.objects.create(month=month, policy=policy)
        except IntegrityError:
            pass  # made meanwhile by another water on of the same month and policy
        row = rows.get(month=month, policy=policy)
    return row


def application_added(*, application: Application, steps: int) -> None:
    """Add an application that has just reached water on to its month's rollup row, in
    the caller's (the water on's) transaction; the row is locked for the update."""
    assert application.water_on_at is not None
    key = (month_of(application.water_on_at), application.policy.code)
    row = _locked_row(key)
    totals = Totals.of(row)
    totals.add(
        utility=application.utility_seconds,
        customer=application.customer_seconds,
        steps=steps,
        documents=1 if application.document else 0,
        on_time=bool(application.on_time),
    )
    MonthlyRollup.objects.filter(pk=row.pk).update(**totals.fields())


def read(*, first: dt.date, last: dt.date) -> dict[Key, Totals]:
    """The rollup rows of the months from `first` to `last` (first days of months)."""
    rows = MonthlyRollup.objects.filter(month__gte=first, month__lte=last)
    return {(row.month, row.policy): Totals.of(row) for row in rows}


def recompute(
    *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> dict[Key, Totals]:
    """The rollups from the raw rows (applications at water on and their steps), for
    water on in ``[start, end)`` (every month when not given)."""
    apps = Application.objects.filter(state=AppState.WATER_ON, water_on_at__isnull=False)
    steps = ApplicationStep.objects.filter(application__state=AppState.WATER_ON)
    if start is not None:
        apps = apps.filter(water_on_at__gte=start)
        steps = steps.filter(application__water_on_at__gte=start)
    if end is not None:
        apps = apps.filter(water_on_at__lt=end)
        steps = steps.filter(application__water_on_at__lt=end)
    counts = dict(steps.values_list("application_id").annotate(n=Count("pk")).order_by())
    result: dict[Key, Totals] = {}
    fields = ("pk", "policy__code", "water_on_at", "utility_seconds", "customer_seconds")
    for pk, code, water_on_at, utility, customer, on_time, document in apps.values_list(
        *fields, "on_time", "document"
    ).iterator(chunk_size=20_000):
        totals = result.setdefault((month_of(water_on_at), code), Totals())
        totals.add(
            utility=utility,
            customer=customer,
            steps=counts.get(pk, 0),
            documents=1 if document else 0,
            on_time=bool(on_time),
        )
    return result


def _stored() -> dict[Key, MonthlyRollup]:
    return {(row.month, row.policy): row for row in MonthlyRollup.objects.all()}


def _differences(
    stored: Mapping[Key, MonthlyRollup], expected: Mapping[Key, Totals]
) -> list[tuple[Key, dict[str, Any] | None]]:
    """(key, the row's right columns, or None when the row should not exist)."""
    out: list[tuple[Key, dict[str, Any] | None]] = []
    for key in sorted(set(stored) | set(expected)):
        want = expected[key].fields() if key in expected else None
        row = stored.get(key)
        have = Totals.of(row).fields() if row is not None else None
        if want is not None and not want["applications"]:
            want = None
        if have != want:
            out.append((key, want))
    return out


def consistency_check() -> list[str]:
    """Every difference between the rollups and a recomputation (empty when they agree)."""
    stored = _stored()
    result = []
    for key, want in _differences(stored, recompute()):
        row = stored.get(key)
        have = Totals.of(row).fields() if row is not None else None
        short = {k: v for k, v in (want or {}).items() if k != "histogram"}
        mine = {k: v for k, v in (have or {}).items() if k != "histogram"}
        result.append(f"{key[0]:%Y-%m} {key[1]}: rollup {mine or '—'} ≠ raw {short or '—'}")
    return result


def reconcile() -> int:
    """Rewrite the rollup rows that differ from the recomputation; the number rewritten."""
    with transaction.atomic():
        stored = {(row.month, row.policy): row for row in MonthlyRollup.objects.select_for_update()}
        differences = _differences(stored, recompute())
        for (month, policy), want in differences:
            if want is None:
                MonthlyRollup.objects.filter(month=month, policy=policy).delete()
            elif (month, policy) in stored:
                MonthlyRollup.objects.filter(pk=stored[(month, policy)].pk).update(**want)
            else:
                MonthlyRollup.objects.create(month=month, policy=policy, **want)
    return len(differences)
