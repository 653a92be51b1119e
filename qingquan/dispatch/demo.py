"""Demo data for repair dispatch: the six demo crews (their teams come from staff.demo)
with skills, vehicles and depots across Ningbo, and a few jobs from the demo's open repair
cases: waiting for a crew, assigned, and one crew on its way, so that the board and the
crew app show something from the start."""

from __future__ import annotations

import uuid

from qingquan.core.actors import system
from qingquan.dispatch import services
from qingquan.dispatch.errors import DispatchError
from qingquan.dispatch.models import Crew
from qingquan.staff.models import Team

DEMO = system("demo")

# team code -> (skills, vehicle, depot lon, depot lat)
CREWS: dict[str, tuple[list[str], str, float, float]] = {
    "crew-haishu": (["large_mains", "valves", "night"], "浙B·Q9601", 121.5440, 29.8700),
    "crew-jiangbei": (["valves", "meters"], "浙B·Q9602", 121.5560, 29.8930),
    "crew-yinzhou": (["large_mains", "valves"], "浙B·Q9603", 121.5590, 29.8280),
    "crew-zhenhai": (["meters", "night"], "浙B·Q9604", 121.7160, 29.9490),
    "crew-beilun": (["large_mains", "night"], "浙B·Q9605", 121.8440, 29.9010),
    "crew-fenghua": (["valves", "meters", "night"], "浙B·Q9606", 121.4060, 29.6560),
}


def seed_dispatch(*, jobs: int = 4) -> int:
    """The crews, and up to `jobs` jobs from open repair cases with a location; the number
    of jobs made."""
    from qingquan.tickets.models import Ticket, TicketState

    crews = []
    for team in Team.objects.filter(is_crew=True).order_by("code"):
        skills, vehicle, lon, lat = CREWS.get(team.code, (["valves"], "", 121.55, 29.87))
        crew, _ = Crew.objects.get_or_create(
            team=team,
            defaults={
                "skills": skills,
                "vehicle": vehicle,
                "depot_longitude": lon,
                "depot_latitude": lat,
            },
        )
        crews.append(crew)
    cases = (
        Ticket.objects.filter(
            state__in=[
                TicketState.RECEIVED,
                TicketState.DISPATCHED,
                TicketState.IN_PROGRESS,
                TicketState.RETURNED,
            ],
            parent__isnull=True,
            kind__parent__code="repair",
        )
        .exclude(kind__code="repair-quality")
        .order_by("-created_at")
    )
    from qingquan.network.models import LinkKind, Pipe

    pipes = list(
        Pipe.objects.filter(kind=LinkKind.PIPE, diameter_mm__gte=150)
        .order_by("pk")
        .values_list("eid", flat=True)[::97][:jobs]
    )
    made = 0
    # Enough candidates that a few without a place (or refused) still leave `jobs` made.
    for case in cases[: jobs * 10]:
        if made >= jobs:
            break
        try:
            job = services.job_create(actor=DEMO, ticket=case)
        except DispatchError:
            # A case without a located premise: on a main of the demo network instead.
            pipe = pipes[made % len(pipes)] if pipes else None
            if pipe is None:
                continue
            try:
                job = services.job_create(actor=DEMO, ticket=case, pipe=pipe)
            except DispatchError:
                continue
        made += 1
        if made >= 2 and crews:
            crew = crews[(made - 2) % len(crews)]
            job = services.job_assign(actor=DEMO, job=job, crew=crew, version=job.version)
            if made == 3:
                member = crew.team.members.filter(is_active=True).order_by("pk").first()
                if member is not None:
                    for kind in ("accept", "en_route"):
                        job = services.step_record(
                            actor=member, job=job, kind=kind, client_id=f"demo-{uuid.uuid4()}"
                        ).job
    return made
