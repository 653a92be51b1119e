"""Demo data for telephony: one phone system with a known token, for the call simulator,
and a few days of calls for the statistics."""

from __future__ import annotations

import datetime as dt
import random

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.telephony.models import Pbx

# Public on purpose: demo data is never loaded in production (core.demo refuses).
DEMO_PBX_TOKEN = "demo-pbx-96390-qingquan-simulator"
DEMO_PBX_NAME = "演示交换机 Demo PBX"


def seed_telephony() -> Pbx:
    """The demo PBX the simulator posts as (idempotent)."""
    from qingquan.telephony.services import pbx_create

    existing = Pbx.objects.filter(name=DEMO_PBX_NAME).first()
    if existing is not None:
        return existing
    pbx, _token = pbx_create(actor=system("demo"), name=DEMO_PBX_NAME, token=DEMO_PBX_TOKEN)
    return pbx


def seed_call_history(*, days: int = 3, now: dt.datetime | None = None) -> int:
    """A few days of the hotline's queue calls, so that the call statistics, the wallboard
    and the callback list show figures on a fresh demo: calls ring, wait, and are answered
    by one of the demo agents or abandoned, sent as the CTI events a phone system sends
    (`call_event_handle`), so contacts, waits, talk times and outcomes are real rows. Two
    of today's callers who hung up asked to be called back. The agents are signed out
    again afterwards (their last call left them in after-call work). Returns the calls
    made; none when the demo PBX already has calls."""
    from qingquan.staff.models import User
    from qingquan.telephony.ivr import callback_request
    from qingquan.telephony.models import AgentStatus, Call
    from qingquan.telephony.services import EventIn, agent_state_set, call_event_handle

    pbx = seed_telephony()
    if Call.objects.filter(pbx=pbx).exists():
        return 0
    agents = list(User.objects.exclude(extension="").order_by("extension"))
    if not agents:
        return 0
    now = now or clock.now()
    rng = random.Random(96390)
    calls = _demo_calls(rng, days=days, now=now, extensions=[a.extension for a in agents])

    def send(call_id: str, kind: str, at: dt.datetime, **extra: str) -> Call:
        event = EventIn.model_validate(
            {"event_id": f"{call_id}-{kind}", "type": kind, "call_id": call_id, "at": at, **extra}
        )
        result = call_event_handle(pbx=pbx, event=event)
        return result.call

    abandoned_today = []
    for n, (rang, number, queue, wait, talk, extension) in enumerate(calls):
        call_id = f"demo-{rang:%Y%m%d}-{n:04d}"
        send(call_id, "ring", rang, **{"from": number, "to": "96390", "queue": queue})
        if extension:
            send(call_id, "answer", rang + wait, extension=extension, queue=queue)
            send(call_id, "hangup", rang + wait + talk)
        else:
            call = send(call_id, "hangup", rang + wait, cause="cancel")
            if rang.date() == now.date():
                abandoned_today.append((call, queue))
    for call, queue in abandoned_today[-2:]:
        callback_request(call=call, skill=queue)
    for agent in agents:
        agent_state_set(actor=agent, status=AgentStatus.OFFLINE)
    return len(calls)


def _demo_calls(
    rng: random.Random, *, days: int, now: dt.datetime, extensions: list[str]
) -> list[tuple[dt.datetime, str, str, dt.timedelta, dt.timedelta, str]]:
    """(rang, caller, queue, wait, talk, answering extension or "" for abandoned), in time
    order: two to five calls an hour from 08:00 to 20:00, fewer at night."""
    queues = ["general", "repair", "billing", "complaint", "connection"]
    weights = [5, 3, 3, 1, 1]
    today = now.astimezone(clock.SHANGHAI).date()
    out = []
    for back in range(days, -1, -1):
        day = today - dt.timedelta(days=back)
        for hour in range(24):
            start = dt.datetime.combine(day, dt.time(hour), tzinfo=clock.SHANGHAI)
            busy = 8 <= hour < 20
            for _n in range(rng.randint(2, 5) if busy else rng.randint(0, 1)):
                rang = start + dt.timedelta(seconds=rng.randint(0, 3599))
                wait = dt.timedelta(seconds=rng.choice([4, 6, 9, 12, 15, 18, 25, 40, 75]))
                talk = dt.timedelta(seconds=rng.randint(50, 420))
                if rang + wait + talk > now:
                    continue
                answered = rng.random() < 0.93
                out.append(
                    (
                        rang,
                        f"139{rng.randint(10_000_000, 99_999_999)}",
                        rng.choices(queues, weights)[0],
                        wait,
                        talk,
                        rng.choice(extensions) if answered else "",
                    )
                )
    return sorted(out)
