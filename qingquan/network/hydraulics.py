"""The hydraulic consequence of an isolation plan: WNTR's pressure-dependent simulation
(`wntr.sim.WNTRSimulator`, demand model PDD) of the network with the plan's valves closed,
against the network as it is, to find the junctions outside the isolated area whose
pressure falls below a threshold.

The model is the last imported EPANET file (`NetworkImport.source_text`: demands,
patterns, curves, tanks and controls are only there), brought up to date with the records:
junctions and pipes added since (`services.pipe_add`) are added, pipes behind a closed
valve are closed. A closed valve closes the pipe it sits on. One steady state is solved, at
the hour of the largest total demand of the file's patterns (the worst case). Net6 takes
about 15 s per simulation on one core, so runs are background tasks
(`tasks.hydraulic_simulate`) whose results are stored (`HydraulicRun`); the simulation of
the network as it is (the baseline) is stored once per network version and shared.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from qingquan.network.models import (
    LinkKind,
    NetworkImport,
    Node,
    NodeKind,
    Pipe,
    Valve,
    ValveState,
)


class HydraulicError(Exception):
    """The simulation cannot be run or did not converge (stored on the run as its error)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


def low_pressure_m() -> float:
    """Below this pressure (metres of head) a junction counts as low (`NETWORK_LOW_PRESSURE_M`)."""
    return float(getattr(settings, "NETWORK_LOW_PRESSURE_M", 10.0))


def required_pressure_m() -> float:
    """PDD: the pressure at which a junction receives its whole demand
    (`NETWORK_PDD_REQUIRED_M`); below it the demand falls, to nothing at 0 m."""
    return float(getattr(settings, "NETWORK_PDD_REQUIRED_M", 20.0))


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def plan_key(stamp: str, valves: list[str], threshold: float) -> str:
    """The key of a plan's run: the network version, the valves closed, the thresholds."""
    return _digest(
        {
            "stamp": stamp,
            "valves": sorted(valves),
            "threshold": threshold,
            "required": required_pressure_m(),
        }
    )


def baseline_key(stamp: str) -> str:
    return _digest({"stamp": stamp, "baseline": True, "required": required_pressure_m()})


def _peak_start(model: Any) -> int:
    """Seconds into the patterns of the hour with the largest total demand."""
    import wntr

    try:
        demand = wntr.metrics.expected_demand(model)
    except Exception:  # a file without patterns or demands: its time 0 will do
        return 0
    if demand is None or demand.empty:
        return 0
    total = demand.sum(axis=1)
    return int(total.idxmax())


def build_model() -> Any:
    """WNTR's model of the network as recorded now (see the module's docstring)."""
    import wntr

    record = NetworkImport.objects.exclude(source_text="").order_by("-at", "-pk").first()
    if record is None:
        raise HydraulicError(
            _(
                "The network file is not stored (imported before simulations existed): "
                "import it again."
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network.inp"
        path.write_text(record.source_text, encoding="utf-8")
        try:
            model = wntr.network.WaterNetworkModel(str(path))
        except Exception as error:
            raise HydraulicError(
                _("WNTR cannot read the stored file: %(e)s") % {"e": error}
            ) from error
    known_nodes = set(model.node_name_list)
    for eid, elevation, lon, lat in (
        Node.objects.filter(kind=NodeKind.JUNCTION)
        .exclude(eid__in=known_nodes)
        .values_list("eid", "elevation", "longitude", "latitude")
    ):
        model.add_junction(eid, base_demand=0.0, elevation=elevation, coordinates=(lon, lat))
    known_links = set(model.link_name_list)
    added = Pipe.objects.filter(kind=LinkKind.PIPE).exclude(eid__in=known_links)
    for eid, start, end, length, diameter, roughness in added.values_list(
        "eid", "start__eid", "end__eid", "length_m", "diameter_mm", "roughness"
    ):
        model.add_pipe(
            eid,
            start,
            end,
            length=max(length, 1.0),
            diameter=max(diameter, 1.0) / 1000,
            roughness=roughness or 100.0,
        )
    peak = _peak_start(model)
    options = model.options
    options.hydraulic.demand_model = "PDD"
    options.hydraulic.required_pressure = required_pressure_m()
    options.hydraulic.minimum_pressure = 0.0
    options.time.pattern_start = peak
    options.time.duration = 0
    closed = Valve.objects.filter(state=ValveState.CLOSED).values_list("pipe__eid", flat=True)
    close_pipes(model, list(closed))
    return model


def close_pipes(model: Any, pipes: list[str]) -> None:
    """Close the links named (a closed valve shuts the pipe it sits on)."""
    import wntr

    names = set(model.link_name_list)
    for name in pipes:
        if name in names:
            model.get_link(name).initial_status = wntr.network.LinkStatus.Closed


def pressures(model: Any) -> dict[str, float]:
    """Every junction's pressure (m) in the steady state of `model`."""
    import wntr

    try:
        results = wntr.sim.WNTRSimulator(model).run_sim()
    except Exception as error:
        raise HydraulicError(
            _("The simulation did not converge: %(e)s") % {"e": str(error)[:300]}
        ) from error
    row = results.node["pressure"].iloc[0]
    out: dict[str, float] = {}
    for name in model.junction_name_list:
        value = float(row[name])
        out[str(name)] = round(value, 2) if math.isfinite(value) else 0.0
    return out


def low_junctions(
    before: dict[str, float], after: dict[str, float], *, excluded: set[str], threshold: float
) -> list[list[Any]]:
    """[eid, before, after] of the junctions outside `excluded` whose pressure falls below
    `threshold` (from at or above it), lowest first."""
    rows = [
        [eid, before[eid], p]
        for eid, p in after.items()
        if eid not in excluded and p < threshold and before.get(eid, -math.inf) >= threshold
    ]
    rows.sort(key=lambda r: (r[2], r[0]))
    return rows
