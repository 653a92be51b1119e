"""The isolation plan of a pipe or a point, its counts and its accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from qingquan.customers.models import Account, AccountKind, CriticalKind
from qingquan.customers.privacy import Kind, shown
from qingquan.network import graph as network_graph
from qingquan.network.models import (
    Pipe,
    PremiseConnection,
)
from qingquan.network.selectors.base import SNAP_MAX_M, NotFound, TooFar
from qingquan.staff.access import check

MAX_CRITICAL = 100  # critical customers listed in a plan (all are counted)


@dataclass
class AreaCount:
    district: str
    street: str
    premises: int
    accounts: int


@dataclass
class CriticalRow:
    """A critical customer a plan leaves without water (name as the reader may see it)."""

    kind: str
    kind_label: str
    customer: str
    account: str
    address: str


@dataclass
class Plan:
    """An isolation plan as pages and the API show it."""

    pipe: str
    pipe_diameter_mm: float
    snapped_m: float | None
    isolation: network_graph.Isolation
    graph: network_graph.NetworkGraph
    premises: int = 0
    accounts: int = 0
    care_customers: int = 0
    non_residential_accounts: int = 0
    by_area: list[AreaCount] = field(default_factory=list)
    critical: list[CriticalRow] = field(default_factory=list)
    critical_count: int = 0

    @property
    def valves_to_close(self) -> list[network_graph.ValveInfo]:
        return self.isolation.valves_to_close

    @property
    def no_valves(self) -> bool:
        return not self.isolation.valves_to_close

    @property
    def whole_zone(self) -> bool:
        """No valve between the pipe and a source, or none around it at all: closing it
        means shutting the whole zone."""
        return self.isolation.contains_source or self.no_valves

    @property
    def segment_pipes(self) -> int:
        return len(self.isolation.segment_pipes)

    @property
    def segment_junctions(self) -> int:
        return len(self.isolation.segment_nodes)

    @property
    def segment_length_m(self) -> float:
        return float(self.graph.pipe_length[self.isolation.segment_pipes].sum())

    @property
    def cut_off_junctions(self) -> int:
        return len(self.isolation.cut_off_nodes)

    @property
    def cut_off_pipes(self) -> int:
        return len(self.isolation.cut_off_pipes)


def _connections(plan_segments: list[int]) -> Any:
    return PremiseConnection.objects.filter(node__segment__in=plan_segments)


def isolation_plan(
    *,
    user: Any,
    pipe: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    counts: bool = True,
) -> Plan:
    """The isolation plan of a pipe (by its network id) or of the pipe nearest a point."""
    check(user, "network.view")
    g = network_graph.current()
    if g.empty:
        raise NotFound(_("No pipe network has been imported yet."))
    snapped: float | None = None
    if pipe is not None:
        index = g.pipe_index.get(pipe)
        if index is None:
            raise NotFound(_("There is no pipe %(pipe)s.") % {"pipe": pipe})
    elif lon is not None and lat is not None:
        index, snapped = g.snap(lon, lat)
        if snapped > SNAP_MAX_M:
            raise TooFar(snapped)
    else:
        raise NotFound(_("Name a pipe or a point."))
    return plan_of(g, index, user=user, snapped=snapped, counts=counts)


def plan_of(
    g: network_graph.NetworkGraph,
    index: int,
    *,
    user: Any,
    snapped: float | None = None,
    counts: bool = True,
) -> Plan:
    """The plan of pipe index `index` of graph `g`, counted for `user` (names as they may
    see them). No access check: callers check (`isolation_plan`: `network.view`; a case's
    place: whoever may see the case)."""
    iso = network_graph.isolation(g, index)
    diameter = Pipe.objects.filter(pk=int(g.pipe_pk[index])).values_list("diameter_mm", flat=True)
    plan = Plan(
        pipe=g.pipe_eid[index],
        pipe_diameter_mm=float(diameter.first() or 0),
        snapped_m=snapped,
        isolation=iso,
        graph=g,
    )
    if counts:
        _count(plan, user)
    return plan


def _critical(plan: Plan, user: Any, accounts: Any) -> None:
    """The critical customers among the accounts: most endangered kinds first."""
    order = {kind: i for i, kind in enumerate(CriticalKind.values)}
    rows = list(
        accounts.exclude(customer__critical_kind="")
        .select_related("customer", "premise")
        .order_by("premise__address", "number")[: MAX_CRITICAL * 4]
    )
    seen: set[tuple[int, int]] = set()
    found: list[CriticalRow] = []
    for a in rows:
        if (a.customer_id, a.premise_id) in seen:
            continue
        seen.add((a.customer_id, a.premise_id))
        c = a.customer
        found.append(
            CriticalRow(
                kind=c.critical_kind,
                kind_label=str(CriticalKind(c.critical_kind).label),
                customer=shown(c.name, user=user, kind=Kind.NAME, of=c),
                account=a.number,
                address=a.premise.address,
            )
        )
    found.sort(key=lambda r: order.get(r.kind, len(order)))
    plan.critical = found[:MAX_CRITICAL]


def _count(plan: Plan, user: Any) -> None:
    segments = plan.isolation.affected_segments
    plan.premises = _connections(segments).count()
    accounts = Account.objects.filter(premise__network_connection__node__segment__in=segments)
    totals = accounts.aggregate(
        n=Count("pk"),
        care=Count("customer", filter=Q(customer__elderly_or_impaired=True), distinct=True),
        business=Count("pk", filter=~Q(kind=AccountKind.RESIDENTIAL)),
        critical=Count("customer", filter=~Q(customer__critical_kind=""), distinct=True),
    )
    plan.accounts = totals["n"] or 0
    plan.care_customers = totals["care"] or 0
    plan.non_residential_accounts = totals["business"] or 0
    plan.critical_count = totals["critical"] or 0
    if plan.critical_count:
        _critical(plan, user, accounts)
    rows = (
        _connections(segments)
        .values("premise__district__name", "premise__street__name")
        .annotate(premises=Count("premise_id", distinct=True), accounts=Count("premise__accounts"))
        .order_by("-accounts", "premise__district__name", "premise__street__name")
    )
    plan.by_area = [
        AreaCount(
            r["premise__district__name"] or "",
            r["premise__street__name"] or "",
            r["premises"],
            r["accounts"],
        )
        for r in rows
    ]


@dataclass
class AccountRow:
    number: str
    customer: str
    address: str
    district: str
    kind: str
    care: bool
    critical: str = ""  # the kind of critical customer, as a label


def affected_accounts(
    *, user: Any, plan: Plan, page: int = 1, page_size: int = 50
) -> tuple[list[AccountRow], int]:
    """One page of the accounts a plan leaves without water, by address; and the total."""
    check(user, "network.view")
    qs = (
        Account.objects.filter(
            premise__network_connection__node__segment__in=plan.isolation.affected_segments
        )
        .select_related("customer", "premise", "premise__district")
        .order_by("premise__address", "number")
    )
    total = qs.count()
    start = (page - 1) * page_size
    rows = [
        AccountRow(
            number=a.number,
            customer=shown(a.customer.name, user=user, kind=Kind.NAME, of=a.customer),
            address=a.premise.address,
            district=a.premise.district.name,
            kind=str(a.get_kind_display()),
            care=a.customer.elderly_or_impaired,
            critical=(
                str(CriticalKind(a.customer.critical_kind).label)
                if a.customer.critical_kind
                else ""
            ),
        )
        for a in qs[start : start + page_size]
    ]
    return rows, total
