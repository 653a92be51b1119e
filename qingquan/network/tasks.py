"""Background work for the network: the hydraulic simulation of an isolation plan.

`hydraulic_simulate(run_id=…)` takes the id of a `HydraulicRun` and is safe to run twice:
a finished run is left as it is, and a run cut off half-way (its worker died) is computed
again from its inputs, which give the same answer.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from django.db.models import Count
from django.utils.translation import gettext as _
from django_tasks import task

from qingquan.core import clock
from qingquan.network import hydraulics
from qingquan.network.models import HydraulicRun, NetworkState, PremiseConnection, RunStatus

logger = logging.getLogger(__name__)
BATCH = 2000


def CHANGED() -> str:
    return _("The network changed since the simulation was asked for: ask again.")


def _save(run: HydraulicRun, **values: Any) -> None:
    for name, value in values.items():
        setattr(run, name, value)
    HydraulicRun.objects.filter(pk=run.pk).update(**values)


def _baseline(stamp: str) -> dict[str, float]:
    """Every junction's pressure as the network is (stored once per network version)."""
    run, _created = HydraulicRun.objects.get_or_create(
        key=hydraulics.baseline_key(stamp),
        defaults={
            "network_stamp": stamp,
            "threshold_m": hydraulics.low_pressure_m(),
            "requested_at": clock.now(),
        },
    )
    if run.status == RunStatus.DONE:
        return dict(run.pressures)
    _save(run, status=RunStatus.RUNNING, started_at=clock.now(), progress=10)
    try:
        pressures = hydraulics.pressures(hydraulics.build_model())
    except hydraulics.HydraulicError as error:
        _save(run, status=RunStatus.FAILED, error=error.message, finished_at=clock.now())
        raise
    _save(
        run,
        status=RunStatus.DONE,
        progress=100,
        pressures=pressures,
        finished_at=clock.now(),
        error="",
    )
    return pressures


def _attached(eids: list[str]) -> tuple[int, int]:
    """Premises and accounts attached to the junctions named."""
    premises = accounts = 0
    for i in range(0, len(eids), BATCH):
        rows = PremiseConnection.objects.filter(node__eid__in=eids[i : i + BATCH]).aggregate(
            premises=Count("premise_id", distinct=True), accounts=Count("premise__accounts")
        )
        premises += rows["premises"] or 0
        accounts += rows["accounts"] or 0
    return premises, accounts


def _isolated(run: HydraulicRun) -> set[str]:
    """The junctions the plan leaves without water (its segment and what is cut off)."""
    from qingquan.network import graph

    g = graph.current()
    if g.version != run.network_stamp:
        raise hydraulics.HydraulicError(CHANGED())
    index = g.pipe_index.get(run.pipe)
    if index is None:
        raise hydraulics.HydraulicError(_("There is no pipe %(pipe)s.") % {"pipe": run.pipe})
    iso = graph.isolation(g, index)
    return {g.node_eid[i] for i in iso.affected_nodes}


@task()
def hydraulic_simulate(run_id: int) -> str:
    """Simulate a plan's closure (and the baseline if it is not stored yet); store the
    low-pressure junctions and who is attached to them."""
    run = HydraulicRun.objects.filter(pk=run_id).first()
    if run is None or run.status == RunStatus.DONE:
        return "nothing to do"
    _save(run, status=RunStatus.RUNNING, started_at=clock.now(), progress=5, error="")
    try:
        current = NetworkState.objects.values_list("stamp", flat=True).first() or ""
        if current != run.network_stamp:
            raise hydraulics.HydraulicError(CHANGED())
        excluded = _isolated(run)
        before = _baseline(run.network_stamp)
        _save(run, progress=50)
        model = hydraulics.build_model()
        from qingquan.network.models import Valve

        pipes = list(
            Valve.objects.filter(eid__in=run.closed_valves).values_list("pipe__eid", flat=True)
        )
        hydraulics.close_pipes(model, pipes)
        after = hydraulics.pressures(model)
        _save(run, progress=90)
        low = hydraulics.low_junctions(before, after, excluded=excluded, threshold=run.threshold_m)
        premises, accounts = _attached([row[0] for row in low])
    except DatabaseError:
        raise  # the worker puts the task back and runs it again
    except hydraulics.HydraulicError as error:
        _save(run, status=RunStatus.FAILED, error=error.message, finished_at=clock.now())
        return "failed"
    except Exception as error:  # WNTR's own failures: recorded on the run, logged
        logger.exception("hydraulic simulation %s failed", run.pk)
        _save(run, status=RunStatus.FAILED, error=str(error)[:500], finished_at=clock.now())
        return "failed"
    _save(
        run,
        status=RunStatus.DONE,
        progress=100,
        low_junctions=low,
        premises=premises,
        accounts=accounts,
        finished_at=clock.now(),
    )
    return f"{len(low)} low-pressure junctions"
