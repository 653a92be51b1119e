"""The staff side at 16 agents (issue #12): case creation through the staff API and the
screen pop, with their p50, p99 and max.

    QINGQUAN_DATA_DIR=var/speed-serve .venv/bin/python -m bench.staff_p99 --port 8204
    .venv/bin/python -m bench.staff_p99 --flow pop --accounts 100000 --pace 0.5
    DATABASE_URL=postgres://… .venv/bin/python -m bench.staff_p99 --port 8204 --workers 2

Starts `qingquan serve --no-demo` (SQLite with its in-process worker; with DATABASE_URL
and --workers 2 the web processes without a worker) and gives each of 16 agents a
session, a seat and an extension. Flows:

- `case`: `POST /api/v1/tickets/` (the staff API's case creation).
- `pop`: a call rings and is answered at the agent's extension (`POST /telephony/events`
  twice, as the phone system sends them), then the agent's browser fetches the screen pop
  fragment (`GET /console/calls/<id>/` with `HX-Request`); the figure is the time from the
  answer event's send to the fragment's last byte, less the look-up of the call's id in
  the database between the two (the browser gets it from the websocket push). The callers'
  numbers are those of the generated city's customers (`--accounts` tops the city up).

Load, two ways:
- closed loop (default, `--pace 0`): every agent sends its next request as soon as the
  last one is answered. 16 agents who never pause make a queue by construction: each
  waits about 16 × (the CPU of one request) / 2 cores.
- open loop (`--pace R`): every agent starts requests at random (Poisson) times, R per
  second on average, whether or not the last was answered; a request's time counts from
  when it was due, so a queue in the server is in the figures (no coordinated omission).
  A real agent takes a call every minute or two; R = 0.5 is some sixty times that.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

PBX_TOKEN = "bench-staff-p99-pbx-token-96390"
EXTENSION_BASE = 8700


def _agents(count: int) -> list[Any]:
    from bench.context import bench_user

    return [
        bench_user(
            f"bench-p99-agent-{seat:02d}",
            f"基准坐席{seat:02d}",
            extension=str(EXTENSION_BASE + seat),
        )
        for seat in range(count)
    ]


def _pbx() -> None:
    from qingquan.core.actors import system
    from qingquan.telephony import services
    from qingquan.telephony.models import Pbx, token_digest

    if not Pbx.objects.filter(token_hash=token_digest(PBX_TOKEN)).exists():
        services.pbx_create(actor=system("bench"), name="bench-p99-pbx", token=PBX_TOKEN)


def _phones(accounts: int) -> list[str]:
    from qingquan.customers.generator import generate_city
    from qingquan.customers.models import Account, CustomerPhone

    have = Account.objects.count()
    if have < accounts:
        print(f"generating {accounts - have:,} accounts …", file=sys.stderr, flush=True)
        generate_city(accounts=accounts - have, months=24, seed=have + 1)
    phones = list(CustomerPhone.objects.values_list("national_digits", flat=True)[:2000])
    return phones or ["13800000000"]


def _call_pk(call_id: str) -> int:
    from qingquan.telephony.models import Call

    for _ in range(50):
        pk = Call.objects.filter(call_id=call_id).values_list("pk", flat=True).first()
        if pk:
            return int(pk)
        time.sleep(0.01)
    raise RuntimeError(f"call {call_id} not found")


def _start(args: argparse.Namespace) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "qingquan.cli", "serve", "--no-demo", "--port"]
    command += [str(args.port), "--workers", str(args.workers)]
    if args.workers > 1:
        command.append("--no-worker")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the server did not start")


Request = Callable[[httpx.AsyncClient, int], Awaitable[float]]


def _flows(base: str, kind_code: str, phones: list[str]) -> dict[str, Request]:
    from bench.bench_tickets import CSRF

    rng = random.Random(96390)
    headers = {"X-CSRFToken": CSRF, "Referer": base + "/"}
    payload = {"kind": kind_code, "channel": "phone", "subject": "基准受理"}
    # Call ids and their event ids are new in every run: a phone event already received
    # (same event id) changes nothing, so a repeated id would fetch an earlier run's call.
    run = secrets.token_hex(4)
    serial = iter(range(10**12))

    async def case(client: httpx.AsyncClient, seat: int) -> float:
        started = time.perf_counter()
        answer = await client.post(
            "/api/v1/tickets/",
            json={**payload, "caller_phone": phones[rng.randrange(len(phones))]},
            headers=headers,
        )
        if answer.status_code != 201:
            raise RuntimeError(f"{answer.status_code}: {answer.text[:200]}")
        return time.perf_counter() - started

    async def pop(client: httpx.AsyncClient, seat: int) -> float:
        call_id = f"p99-{run}-{next(serial)}"
        event = {"call_id": call_id, "from": phones[rng.randrange(len(phones))], "to": "96390"}
        auth = {"Authorization": f"Bearer {PBX_TOKEN}"}
        ring = await client.post(
            "/telephony/events",
            json={**event, "event_id": f"{call_id}-r", "type": "ring"},
            headers=auth,
        )
        if ring.status_code != 200:
            raise RuntimeError(f"ring {ring.status_code}: {ring.text[:200]}")
        started = time.perf_counter()
        answer = await client.post(
            "/telephony/events",
            json={
                **event,
                "event_id": f"{call_id}-a",
                "type": "answer",
                "extension": str(EXTENSION_BASE + seat),
            },
            headers=auth,
        )
        if answer.status_code != 200:
            raise RuntimeError(f"answer {answer.status_code}: {answer.text[:200]}")
        answered = time.perf_counter()
        pk = await asyncio.to_thread(_call_pk, call_id)
        fetch = time.perf_counter()
        fragment = await client.get(f"/console/calls/{pk}/", headers={"HX-Request": "true"})
        if fragment.status_code != 200 or "screen-pop" not in fragment.text:
            raise RuntimeError(f"pop {fragment.status_code}: {fragment.text[:200]}")
        took = (answered - started) + (time.perf_counter() - fetch)
        # The caller hangs up (not timed): the agent's next answer finds no stale call.
        await client.post(
            "/telephony/events",
            json={**event, "event_id": f"{call_id}-h", "type": "hangup"},
            headers=auth,
        )
        return took

    return {"case": case, "pop": pop}


def _measure(
    base: str, sessions: list[dict[str, str]], request: Request, seconds: float, pace: float
) -> tuple[list[float], int]:
    times: list[float] = []
    errors: list[str] = []

    async def agent(seat: int, cookies: dict[str, str], until: float) -> None:
        rng = random.Random(seat)
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as client:
            if not pace:
                while time.perf_counter() < until:
                    try:
                        times.append(await request(client, seat))
                    except (RuntimeError, httpx.HTTPError) as error:
                        errors.append(str(error))
                return
            due = time.perf_counter() + rng.expovariate(pace)
            pending: set[asyncio.Task[None]] = set()

            async def one(due_at: float) -> None:
                late = max(0.0, time.perf_counter() - due_at)  # the client's own lag counts
                try:
                    times.append(late + await request(client, seat))
                except (RuntimeError, httpx.HTTPError) as error:
                    errors.append(str(error))

            while due < until:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                task = asyncio.create_task(one(due))
                pending.add(task)
                task.add_done_callback(pending.discard)
                due += rng.expovariate(pace)
            await asyncio.gather(*pending)

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(agent(i, s, until) for i, s in enumerate(sessions)))

    asyncio.run(run())
    if errors:
        print(f"first error: {errors[0]}", file=sys.stderr)
    return times, len(errors)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8204)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--flow", choices=["case", "pop"], default="case")
    parser.add_argument("--pace", type=float, default=0.0, help="requests/s per agent (open)")
    parser.add_argument("--accounts", type=int, default=0, help="top the city up to this")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from bench.bench_tickets import CSRF, _setup
    from bench.context import login_cookie

    _agents_unused, kind = _setup()
    agents = _agents(args.agents)
    _pbx()
    phones = _phones(args.accounts)
    sessions = [{**login_cookie(agent), "csrftoken": CSRF} for agent in agents]
    server = _start(args)
    base = f"http://127.0.0.1:{args.port}"
    try:
        request = _flows(base, kind.code, phones)[args.flow]
        _measure(base, sessions, request, 2, 0.0)  # warm every process and path
        load = os.getloadavg()[0]
        times, errors = _measure(base, sessions, request, args.seconds, args.pace)
        times.sort()
        mode = f"open loop, {args.pace:g}/s per agent" if args.pace else "closed loop"
        print(
            f"{args.flow}: {len(sessions)} agents, {mode}, {args.seconds:g} s, "
            f"{args.workers} web process(es), load {load:.1f}: "
            f"{len(times) / args.seconds:.1f}/s, "
            f"p50 {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {times[int(len(times) * 0.99)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms, "
            f"errors {errors}"
        )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
