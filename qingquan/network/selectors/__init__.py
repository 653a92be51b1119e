"""Network reads that reach users, each behind `network.view`: the map's GeoJSON, the
isolation plan of a pipe or a point, the premises and accounts a plan leaves without
water (customers' names only as `customers.privacy.shown` lets the reader see them), and
the place of a repair case on the network with its incident and merge offer.

A package: `base` (refusals, limits), `plans`, `geojson`, `area`, `hydraulic`, `layers`,
`cases`; everything public is importable from here.
"""

from qingquan.network.selectors.area import (
    in_service_area,
    public_pin_config,
    service_area,
)
from qingquan.network.selectors.base import MAX_OUTLINES, SNAP_MAX_M, NotFound, TooFar
from qingquan.network.selectors.cases import (
    CasePlace,
    IncidentHit,
    PopLine,
    case_place,
    case_place_checked,
    incidents_at_accounts,
    incidents_at_premises,
    incidents_covering,
    merge_offers,
    merge_window_hours,
    offered_incident,
)
from qingquan.network.selectors.geojson import (
    Summary,
    network_geojson,
    network_summary,
    outline,
    pin_map_config,
    pin_map_geojson,
    plan_geojson,
)
from qingquan.network.selectors.hydraulic import (
    hydraulic_for_plan,
    hydraulic_geojson,
    hydraulic_run,
)
from qingquan.network.selectors.layers import (
    MAX_CASES,
    MAX_FOUND,
    MAX_PREMISES,
    PREMISE_SPAN_DEG,
    Found,
    TooWide,
    premises_geojson,
    repair_cases_geojson,
    search,
)
from qingquan.network.selectors.plans import (
    MAX_CRITICAL,
    AccountRow,
    AreaCount,
    CriticalRow,
    Plan,
    affected_accounts,
    isolation_plan,
    plan_of,
)

__all__ = [
    "MAX_CASES",
    "MAX_CRITICAL",
    "MAX_FOUND",
    "MAX_OUTLINES",
    "MAX_PREMISES",
    "PREMISE_SPAN_DEG",
    "SNAP_MAX_M",
    "AccountRow",
    "AreaCount",
    "CasePlace",
    "CriticalRow",
    "Found",
    "IncidentHit",
    "NotFound",
    "Plan",
    "PopLine",
    "Summary",
    "TooFar",
    "TooWide",
    "affected_accounts",
    "case_place",
    "case_place_checked",
    "hydraulic_for_plan",
    "hydraulic_geojson",
    "hydraulic_run",
    "in_service_area",
    "incidents_at_accounts",
    "incidents_at_premises",
    "incidents_covering",
    "isolation_plan",
    "merge_offers",
    "merge_window_hours",
    "network_geojson",
    "network_summary",
    "offered_incident",
    "outline",
    "pin_map_config",
    "pin_map_geojson",
    "plan_geojson",
    "plan_of",
    "premises_geojson",
    "public_pin_config",
    "repair_cases_geojson",
    "search",
    "service_area",
]
