"""Requests for the hydraulic simulation of an isolation plan."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.network import hydraulics
from qingquan.network.models import (
    HydraulicRun,
    RunStatus,
)
from qingquan.network.services.base import NetworkError
from qingquan.staff.access import check

# Hydraulic consequence -------------------------------------------------------------------
STALE_PENDING_S = 600  # a run waiting this long lost its task: it is queued again


@transaction.atomic
def hydraulic_request(*, actor: Any, pipe: str) -> HydraulicRun:
    """Ask for the hydraulic simulation of the isolation plan of `pipe` (a network id):
    the run of that plan's inputs if there is one (finished or under way), else a new
    one queued for `tasks.hydraulic_simulate`. A failed run, or one whose task was lost,
    is queued again."""
    from qingquan.network import graph, tasks

    check(actor, "network.view")
    g = graph.current()
    index = g.pipe_index.get(pipe)
    if index is None:
        raise NetworkError(_("There is no pipe %(pipe)s.") % {"pipe": pipe})
    plan = graph.isolation(g, index)
    if not plan.valves_to_close:
        raise NetworkError(_("No valve isolates this pipe: there is nothing to simulate."))
    valves = sorted(v.eid for v in plan.valves_to_close)
    threshold = hydraulics.low_pressure_m()
    now = clock.now()
    run, created = HydraulicRun.objects.get_or_create(
        key=hydraulics.plan_key(g.version, valves, threshold),
        defaults={
            "network_stamp": g.version,
            "pipe": g.pipe_eid[index],
            "segment": plan.segment,
            "closed_valves": valves,
            "threshold_m": threshold,
            "requested_at": now,
        },
    )
    lost = (
        run.status == RunStatus.PENDING
        and (now - run.requested_at).total_seconds() > STALE_PENDING_S
    )
    if not created and run.status != RunStatus.FAILED and not lost:
        return run
    if not created:
        run = HydraulicRun.objects.select_for_update().get(pk=run.pk)
        run.status, run.progress, run.error, run.requested_at = RunStatus.PENDING, 0, "", now
        run.save(update_fields=["status", "progress", "error", "requested_at"])
    audit_record(
        actor=actor,
        action="network.hydraulicrun.create",
        obj=run,
        after={"pipe": run.pipe, "valves": valves, "threshold_m": threshold},
    )
    run_id = run.pk
    transaction.on_commit(lambda: tasks.hydraulic_simulate.enqueue(run_id=run_id), robust=True)
    return run
