"""Incremental KPI rollups, their recomputation from the raw rows, and the proof that
the two agree.

Each case's contribution (the rows and counts it adds) is a pure function of the case
and its completed callbacks (`contribution`). When a case changes — every change writes a
`TicketEvent` — or one of its callbacks is completed, `refresh_ticket` recomputes the
contribution, applies the difference to `KpiDaily` and stores the new contribution, in
the same transaction as the change. Contacts only ever add one to their day's row.

A deadline passing is not a change anybody makes: the SLA sweep that flags the breach
(`tickets.tasks.sweep`, every minute) stamps `breached_at` with the deadline and sends
`tickets.signals.cases_breached` in its transaction, and the receiver refreshes those
cases here, so the "late" count lands on the deadline's day within a minute of it.

`recompute` builds the same tables from the raw rows alone; `consistency_check` lists
every difference (none, when all is well) and `reconcile` rewrites the rollups from the
recomputation (the nightly task).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce

from qingquan.core import clock, db
from qingquan.core.db import bulk, claims, fastinsert
from qingquan.core.db.counters import upsert_counter
from qingquan.core.db.functions import ShanghaiDate
from qingquan.reports.models import (
    CALLBACK_MEASURES,
    DIMENSIONS,
    MEASURES,
    ContactDaily,
    KpiDaily,
    RollupDelta,
    TicketContribution,
)
from qingquan.surveys.models import CallbackTask
from qingquan.tickets.models import DONE_STATES, Contact, Ticket

Key = tuple[str, str, str, str, int, int]  # day (ISO), kind, district, channel, owner, dept
ContactKey = tuple[str, str, int]  # day (ISO), channel, agent

TICKET_FIELDS = (
    "pk",
    "created_at",
    "resolved_at",
    "state",
    "on_time",
    "breached_at",
    "channel",
    "owner_id",
    "department_id",
    "kind__code",
    "kind__parent__code",
    "district__code",
)


def local_day(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai day of an instant (rollup days are local days)."""
    return moment.astimezone(clock.SHANGHAI).date()


Counts = dict[str, int]  # measure → a positive count (zeros are left out)


def _bump(rows: dict[Key, Counts], key: Key, measure: str, n: int = 1) -> None:
    counts = rows.get(key)
    if counts is None:
        rows[key] = {measure: n}
    else:
        counts[measure] = counts.get(measure, 0) + n


def contribution(
    row: dict[str, Any], callbacks: Iterable[tuple[dt.datetime | None, str]]
) -> dict[Key, Counts]:
    """The rollup counts one case adds: ``row`` holds TICKET_FIELDS, ``callbacks`` the
    (completed_at, outcome) of its completed callbacks."""
    dims = (
        row["kind__parent__code"] or row["kind__code"],
        row["district__code"] or "",
        row["channel"],
        row["owner_id"],
        row["department_id"] or 0,
    )
    result: dict[Key, Counts] = {}
    done = row["state"] in DONE_STATES
    created: Key = (local_day(row["created_at"]).isoformat(), *dims)
    result[created] = {"created": 1, "done": 1} if done else {"created": 1}
    if done and row["resolved_at"] is not None:
        resolved: Key = (local_day(row["resolved_at"]).isoformat(), *dims)
        _bump(result, resolved, "resolved")
    timeliness = _timeliness(row, done)
    if timeliness is not None:
        measure, moment = timeliness
        _bump(result, (local_day(moment).isoformat(), *dims), measure)
    for completed_at, outcome in callbacks:
        if completed_at is None or outcome not in CALLBACK_MEASURES:
            continue
        _bump(result, (local_day(completed_at).isoformat(), *dims), CALLBACK_MEASURES[outcome])
    return result


def _timeliness(row: dict[str, Any], done: bool) -> tuple[str, dt.datetime] | None:
    """Where a case counts for the on-time rate, once: ("late", the instant its deadline
    passed unresolved) when it was ever overdue (`breached_at`, set by the SLA sweep at
    the deadline, or by the resolution that came too late); ("on_time", its resolution)
    when resolved in time; else nowhere yet (open and within its limit). A resolved case
    with ``on_time`` False but no breach instant (data from before the breach was stamped)
    counts late on its resolution day. See docs/kpis.md."""
    if row["breached_at"] is not None:
        return "late", row["breached_at"]
    if done and row["resolved_at"] is not None and row["on_time"] is not None:
        return ("on_time" if row["on_time"] else "late"), row["resolved_at"]
    return None


def _encode(rows: dict[Key, Counts]) -> list[list[Any]]:
    encoded = []
    for key, counts in sorted(rows.items()):
        positive = {m: n for m, n in counts.items() if n}
        if positive:
            encoded.append([list(key), positive])
    return encoded


def _decode(rows: list[list[Any]]) -> dict[Key, Counts]:
    return {tuple(key): counts for key, counts in rows}


def _dims(key: Key) -> dict[str, Any]:
    return dict(zip(DIMENSIONS, (dt.date.fromisoformat(key[0]), *key[1:]), strict=True))


def deferred() -> bool:
    """Whether counts go to `RollupDelta` rows first (a database where many transactions
    write at once: PostgreSQL) or straight to their rollup row (one writer at a time:
    SQLite, nothing to wait on)."""
    return db.concurrent_writers()


def _add(model: Any, dims: dict[str, Any], counts: dict[str, int]) -> None:
    """Add ``counts`` to the row with ``dims``. On PostgreSQL an appended `RollupDelta`
    row that `fold` adds soon after (no request waits on the day's shared row until it
    commits); on SQLite at once."""
    counts = {m: n for m, n in counts.items() if n}
    if not counts:
        return
    if deferred():
        target = "kpi" if model is KpiDaily else "contact"
        key = [v.isoformat() if isinstance(v, dt.date) else v for v in dims.values()]
        fastinsert.insert(RollupDelta, {"target": target, "key": key, "counts": counts})
        return
    _upsert(model, dims, counts)


def _upsert(model: Any, dims: dict[str, Any], counts: dict[str, int]) -> None:
    """Add ``counts`` to the row with ``dims``, creating it when missing (one upsert on
    the table's unique dimensions, `core.db.counters`)."""
    measures = [f.column for f in model._meta.concrete_fields if f.column in _MEASURE_COLUMNS]
    upsert_counter(model, dims, counts, measures=measures)


_MEASURE_COLUMNS = frozenset({*MEASURES, "contacts"})


FOLD_BATCH = 5000
CONTACT_DIMENSIONS = ("day", "channel", "agent_id")


def fold() -> int:
    """Add the pending `RollupDelta` rows to their rollup rows and delete them, in one
    transaction per batch (the rows a concurrent fold holds are skipped, not waited for).
    Called every few seconds by the worker (`reports.tasks.fold_rollups`) and before any
    read of the rollups. Returns how many deltas were folded."""
    if not deferred():
        return 0
    table = RollupDelta._meta.db_table
    folded = 0
    while True:
        with transaction.atomic():
            rows = claims.take_oldest(table, ("target", "key", "counts"), limit=FOLD_BATCH)
            sums: dict[tuple[str, tuple[Any, ...]], Counter[str]] = defaultdict(Counter)
            for target, key, counts in rows:
                key = json.loads(key) if isinstance(key, str) else key
                counts = json.loads(counts) if isinstance(counts, str) else counts
                sums[(target, tuple(key))].update(counts)
            # In key order: two folds lock rollup rows in the same order (no deadlock).
            for (target, key), counts in sorted(sums.items(), key=lambda i: repr(i[0])):
                day = dt.date.fromisoformat(key[0])
                if target == "kpi":
                    _upsert(KpiDaily, _dims((key[0], *key[1:])), dict(counts))
                else:
                    dims = dict(zip(CONTACT_DIMENSIONS, (day, *key[1:]), strict=True))
                    _upsert(ContactDaily, dims, dict(counts))
        folded += len(rows)
        if len(rows) < FOLD_BATCH:
            return folded


def refresh_ticket(ticket_id: int) -> None:
    """Bring the rollups up to date with one case (call inside the changing transaction)."""
    _refresh_batch([ticket_id])


def refresh_tickets(ticket_ids: list[int]) -> None:
    """`refresh_ticket` for many cases at once (the SLA sweep's chunks): a few queries per
    chunk instead of a few per case, the same deltas."""
    for batch in _chunks(sorted(ticket_ids), 500):
        _refresh_batch(batch)


@transaction.atomic
def _refresh_batch(ticket_ids: list[int]) -> None:
    rows = {r["pk"]: r for r in Ticket.objects.filter(pk__in=ticket_ids).values(*TICKET_FIELDS)}
    callbacks: dict[int, list[tuple[dt.datetime | None, str]]] = defaultdict(list)
    for ticket_id, completed_at, outcome in CallbackTask.objects.filter(
        ticket_id__in=list(rows), status=CallbackTask.Status.DONE
    ).values_list("ticket_id", "completed_at", "outcome"):
        callbacks[ticket_id].append((completed_at, outcome))
    stored = {
        c.ticket_id: c
        for c in TicketContribution.objects.select_for_update().filter(ticket_id__in=list(rows))
    }
    deltas: dict[Key, Counter[str]] = defaultdict(Counter)
    for pk, row in rows.items():
        new = contribution(row, callbacks.get(pk, ()))
        state = stored.get(pk)
        old = _decode(state.rows) if state is not None else {}
        for key in set(new) | set(old):
            deltas[key].update(new.get(key, {}))
            deltas[key].subtract(old.get(key, {}))
        encoded = _encode(new)
        if state is None:
            TicketContribution.objects.create(ticket_id=pk, rows=encoded)
        elif state.rows != encoded:
            state.rows = encoded
            state.save(update_fields=["rows"])
    for key, delta in deltas.items():
        _add(KpiDaily, _dims(key), dict(delta))


def ticket_created(ticket: Ticket) -> None:
    """Count a case created in this transaction, from the case in memory.

    Same result as `refresh_ticket` for a case with no contribution yet (a new case has
    none, and no callbacks), without reading the case, its callbacks and its stored
    contribution back.
    """
    kind = ticket.kind
    row = {
        "pk": ticket.pk,
        "created_at": ticket.created_at,
        "resolved_at": ticket.resolved_at,
        "state": ticket.state,
        "on_time": ticket.on_time,
        "breached_at": ticket.breached_at,
        "channel": ticket.channel,
        "owner_id": ticket.owner_id,
        "department_id": ticket.department_id,
        "kind__code": kind.code,
        "kind__parent__code": kind.parent.code if kind.parent_id else None,  # type: ignore[union-attr]
        "district__code": ticket.district.code if ticket.district_id else None,  # type: ignore[union-attr]
    }
    new = contribution(row, ())
    for key, counts in new.items():
        _add(KpiDaily, _dims(key), dict(counts))
    fastinsert.insert(TicketContribution, {"ticket_id": ticket.pk, "rows": _encode(new)})


def contact_added(contact: Contact) -> None:
    """Count one new contact in its day's row."""
    _add(
        ContactDaily,
        {
            "day": local_day(contact.started_at),
            "channel": contact.channel,
            "agent_id": contact.agent_id or 0,
        },
        {"contacts": 1},
    )


# ---------------------------------------------------------------------------
# Recomputation and the consistency check
# ---------------------------------------------------------------------------


@dataclass
class Recomputed:
    kpi: dict[Key, Counts]
    contacts: dict[ContactKey, int]


Chunk = list[tuple[int, dict[Key, Counts]]]  # (case id, its contribution), id order
CHUNK_SIZE = 5000


def _callbacks() -> dict[int, list[tuple[dt.datetime | None, str]]]:
    callbacks: dict[int, list[tuple[dt.datetime | None, str]]] = defaultdict(list)
    for ticket_id, completed_at, outcome in (
        CallbackTask.objects.filter(ticket__isnull=False, status=CallbackTask.Status.DONE)
        .values_list("ticket_id", "completed_at", "outcome")
        .iterator(chunk_size=CHUNK_SIZE)
    ):
        callbacks[ticket_id].append((completed_at, outcome))
    return callbacks


def _contributions() -> Iterator[Chunk]:
    """Every case's contribution, a chunk of cases at a time in id order (each chunk one
    query by id range: nothing held open, memory flat however many cases there are)."""
    callbacks = _callbacks()
    last = 0
    while True:
        rows = list(
            Ticket.objects.filter(pk__gt=last).order_by("pk").values(*TICKET_FIELDS)[:CHUNK_SIZE]
        )
        if not rows:
            return
        yield [(row["pk"], contribution(row, callbacks.get(row["pk"], ()))) for row in rows]
        last = rows[-1]["pk"]


def _dims_of(prefix: str = "") -> dict[str, Any]:
    """A case's rollup dimensions as SQL expressions (as `contribution` reads them)."""
    return {
        "d_kind": Coalesce(f"{prefix}kind__parent__code", f"{prefix}kind__code"),
        "d_district": Coalesce(f"{prefix}district__code", Value("")),
        "d_channel": F(f"{prefix}channel"),
        "d_owner": F(f"{prefix}owner_id"),
        "d_department": Coalesce(f"{prefix}department_id", Value(0)),
    }


def _grouped(rows: Any) -> Iterator[dict[str, Any]]:
    """The rows of a grouped `.values()` query as plain dicts (for the type checker)."""
    yield from rows


def _key(row: dict[str, Any]) -> Key:
    return (
        row["d_day"].isoformat(),
        row["d_kind"],
        row["d_district"],
        row["d_channel"],
        row["d_owner"],
        row["d_department"],
    )


def recompute() -> Recomputed:
    """Every rollup count computed afresh from cases, callbacks and contacts, by grouping
    in the database (a few aggregate queries, whatever the number of cases).

    This is a second, independent statement of the rules in `contribution`: a case counts
    as created on its local creation day (and as done there if resolved or closed), as
    resolved on its local resolution day, as on time on that day when resolved within its
    limit and never overdue, as late on the local day its deadline passed unresolved
    (`breached_at`; the resolution day for a late resolution without one), and each
    completed callback on its local completion day, all under the case's kind (top level),
    district, channel, owner and department."""
    kpi: dict[Key, Counts] = {}
    done = Q(state__in=DONE_STATES)
    for row in _grouped(
        Ticket.objects.order_by()
        .values(d_day=ShanghaiDate("created_at"), **_dims_of())
        .annotate(created=Count("pk"), done=Count("pk", filter=done))
    ):
        key = _key(row)
        _bump(kpi, key, "created", row["created"])
        if row["done"]:
            _bump(kpi, key, "done", row["done"])
    for row in _grouped(
        Ticket.objects.filter(done, resolved_at__isnull=False)
        .order_by()
        .values(d_day=ShanghaiDate("resolved_at"), **_dims_of())
        .annotate(resolved=Count("pk"))
    ):
        _bump(kpi, _key(row), "resolved", row["resolved"])
    resolved_unbreached = Q(done, resolved_at__isnull=False, breached_at__isnull=True)
    for row in _grouped(
        Ticket.objects.filter(resolved_unbreached, on_time=True)
        .order_by()
        .values(d_day=ShanghaiDate("resolved_at"), **_dims_of())
        .annotate(n=Count("pk"))
    ):
        _bump(kpi, _key(row), "on_time", row["n"])
    for row in _grouped(
        Ticket.objects.filter(Q(breached_at__isnull=False) | Q(resolved_unbreached, on_time=False))
        .order_by()
        .values(d_day=ShanghaiDate(Coalesce("breached_at", "resolved_at")), **_dims_of())
        .annotate(n=Count("pk"))
    ):
        _bump(kpi, _key(row), "late", row["n"])
    for row in _grouped(
        CallbackTask.objects.filter(
            ticket__isnull=False,
            status=CallbackTask.Status.DONE,
            completed_at__isnull=False,
            outcome__in=list(CALLBACK_MEASURES),
        )
        .order_by()
        .values("outcome", d_day=ShanghaiDate("completed_at"), **_dims_of("ticket__"))
        .annotate(n=Count("pk"))
    ):
        _bump(kpi, _key(row), CALLBACK_MEASURES[row["outcome"]], row["n"])
    contacts = {
        (row["d_day"].isoformat(), row["channel"], row["d_agent"]): row["n"]
        for row in _grouped(
            Contact.objects.order_by()
            .values(
                "channel", d_day=ShanghaiDate("started_at"), d_agent=Coalesce("agent_id", Value(0))
            )
            .annotate(n=Count("pk"))
        )
    }
    return Recomputed(kpi=kpi, contacts=contacts)  # every count here is positive


def _stored() -> tuple[dict[Key, Counts], dict[ContactKey, int]]:
    fold()
    kpi: dict[Key, Counts] = {}
    measures = list(enumerate(MEASURES, start=len(DIMENSIONS)))
    for row in KpiDaily.objects.values_list(*DIMENSIONS, *MEASURES).iterator(chunk_size=5000):
        counts = {m: row[i] for i, m in measures if row[i]}
        if counts:
            kpi[(row[0].isoformat(), *row[1 : len(DIMENSIONS)])] = counts
    contacts = {
        (day.isoformat(), channel, agent): n
        for day, channel, agent, n in ContactDaily.objects.values_list(
            "day", "channel", "agent_id", "contacts"
        )
        if n
    }
    return kpi, contacts


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    measure: str
    stored: int
    recomputed: int

    def __str__(self) -> str:
        return (
            f"{self.table} {'/'.join(map(str, self.key))} {self.measure}: "
            f"rollup {self.stored}, raw rows {self.recomputed}"
        )


def consistency_check(fresh: Recomputed | None = None) -> list[Difference]:
    """Every difference between the rollups and a recomputation from the raw rows, in key
    order."""
    diffs = _differences(fresh or recompute())
    # Only the differences are sorted, never every key: sorting millions of key tuples
    # took longer than the whole recomputation on 3 M cases.
    table_order = {"kpi": 0, "contacts": 1}
    measure_order = {m: i for i, m in enumerate(MEASURES)}
    return sorted(
        diffs, key=lambda d: (table_order[d.table], d.key, measure_order.get(d.measure, 0))
    )


def _mismatches(fresh: Recomputed) -> Iterator[tuple[str, tuple[Any, ...], Counts, Counts]]:
    """(table, key, stored counts, recomputed counts) for every key where the rollups and
    ``fresh`` disagree, unordered."""
    kpi, contacts = _stored()
    empty: Counts = {}
    for key in kpi.keys() | fresh.kpi.keys():
        a, b = kpi.get(key, empty), fresh.kpi.get(key, empty)
        if a != b:
            yield "kpi", key, a, b
    for ckey in contacts.keys() | fresh.contacts.keys():
        x, y = contacts.get(ckey, 0), fresh.contacts.get(ckey, 0)
        if x != y:
            yield "contacts", ckey, {"contacts": x}, {"contacts": y}


def _differences(fresh: Recomputed) -> list[Difference]:
    """The differences between the rollups and ``fresh``, one per measure, unordered."""
    return [
        Difference(table, key, measure, a.get(measure, 0), b.get(measure, 0))
        for table, key, a, b in _mismatches(fresh)
        for measure in (MEASURES if table == "kpi" else ("contacts",))
        if a.get(measure, 0) != b.get(measure, 0)
    ]


def _insert(model: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Plain bulk rows (the nightly rewrite touches every row: no model objects)."""
    if rows:
        bulk.write_rows(model._meta.db_table, columns, rows)


def _fix_contributions(chunk: Chunk) -> int:
    """Rewrite the stored contributions of a chunk of cases that differ from theirs now
    (else a case's next change would apply a wrong delta); returns how many did."""
    stored = dict(
        TicketContribution.objects.filter(
            ticket_id__gte=chunk[0][0], ticket_id__lte=chunk[-1][0]
        ).values_list("ticket_id", "rows")
    )
    stale = {}
    for pk, rows in chunk:
        encoded = _encode(rows)
        if stored.get(pk) != encoded:
            stale[pk] = encoded
    for batch in _chunks(sorted(stale), 500):
        TicketContribution.objects.filter(ticket_id__in=batch).delete()
    _insert(
        TicketContribution,
        ["ticket_id", "rows"],
        [(pk, json.dumps(rows)) for pk, rows in stale.items()],
    )
    return len(stale)


@transaction.atomic
def reconcile() -> int:
    """Make the rollups and every case's stored contribution equal to a recomputation
    from the raw rows, touching only what differs; returns how many differences were
    fixed (0 when all was well)."""
    fold()
    stale_contributions = sum(_fix_contributions(chunk) for chunk in _contributions())
    fresh = recompute()
    fixed = 0
    wrong_days: set[dt.date] = set()
    contact_days: set[dt.date] = set()
    for table, key, a, b in _mismatches(fresh):
        fixed += sum(a.get(m, 0) != b.get(m, 0) for m in a.keys() | b.keys())
        (wrong_days if table == "kpi" else contact_days).add(dt.date.fromisoformat(key[0]))
    # Rewrite every rollup row of the days that differ (all rows when building afresh).
    for day_batch in _chunks(sorted(wrong_days), 500):
        KpiDaily.objects.filter(day__in=day_batch).delete()
    _insert(
        KpiDaily,
        list(DIMENSIONS) + list(MEASURES),
        [
            (day, *key[1:], *(counts.get(m, 0) for m in MEASURES))
            for key, counts in fresh.kpi.items()
            if (day := dt.date.fromisoformat(key[0])) in wrong_days
        ],
    )
    for day_batch in _chunks(sorted(contact_days), 500):
        ContactDaily.objects.filter(day__in=day_batch).delete()
    _insert(
        ContactDaily,
        ["day", "channel", "agent_id", "contacts"],
        [
            (dt.date.fromisoformat(k[0]), k[1], k[2], n)
            for k, n in fresh.contacts.items()
            if dt.date.fromisoformat(k[0]) in contact_days and n
        ],
    )
    return fixed + stale_contributions


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
