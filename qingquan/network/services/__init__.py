"""Network writes: the import of an EPANET file, valve changes, the segments they move,
the premises' connections, and the places of repair cases. Every write runs in one
transaction and raises the network's version (`NetworkState`) so that each process
reloads its graph.

A package: `base` (refusal, version, segments), `premises`, `valves`, `pipes`,
`hydraulic`, `imports`, `cases`; everything public is importable from here.
"""

from qingquan.network.services.base import (
    BATCH,
    NetworkError,
    bump_version,
    connection_max_m,
    segments_recompute,
)
from qingquan.network.services.cases import (
    case_locate,
    case_locations_refresh,
    case_locations_rematch,
    case_merge_into_incident,
    case_place_set,
    pin_parse,
)
from qingquan.network.services.hydraulic import STALE_PENDING_S, hydraulic_request
from qingquan.network.services.imports import ImportReport, network_import
from qingquan.network.services.pipes import MAX_DIAMETER_MM, NewJunction, pipe_add
from qingquan.network.services.premises import (
    ConnectCounts,
    premises_connect,
    premises_connect_bulk,
)
from qingquan.network.services.valves import (
    VALVE_OFFSET_M,
    valve_add,
    valve_point,
    valve_set_state,
    valves_set_state,
)

__all__ = [
    "BATCH",
    "MAX_DIAMETER_MM",
    "STALE_PENDING_S",
    "VALVE_OFFSET_M",
    "ConnectCounts",
    "ImportReport",
    "NetworkError",
    "NewJunction",
    "bump_version",
    "case_locate",
    "case_locations_refresh",
    "case_locations_rematch",
    "case_merge_into_incident",
    "case_place_set",
    "connection_max_m",
    "hydraulic_request",
    "network_import",
    "pin_parse",
    "pipe_add",
    "premises_connect",
    "premises_connect_bulk",
    "segments_recompute",
    "valve_add",
    "valve_point",
    "valve_set_state",
    "valves_set_state",
]
