"""Staff API case creation at 16 agents: requests/s, p50, p99 and max (issue #12).

    QINGQUAN_DATA_DIR=var/speed-serve .venv/bin/python -m bench.staff_p99 --port 8204
    DATABASE_URL=postgres://… .venv/bin/python -m bench.staff_p99 --port 8204 --workers 2

Starts `qingquan serve --no-demo` (SQLite with its in-process worker; with DATABASE_URL
and --workers 2 the web processes without a worker), gives each of 16 agents a session,
and has each send `POST /api/v1/tickets/` one after another for `--seconds` (closed
loop: every answer's time counts, errors included). Not the screen pop: that needs the
city of bench_console.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8204)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from bench.bench_tickets import CSRF, _setup
    from bench.context import login_cookie

    agents, kind = _setup()
    sessions = [{**login_cookie(agent), "csrftoken": CSRF} for agent in agents[: args.agents]]
    command = [sys.executable, "-m", "qingquan.cli", "serve", "--no-demo", "--port"]
    command += [str(args.port), "--workers", str(args.workers)]
    if args.workers > 1:
        command.append("--no-worker")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        payload = {
            "kind": kind.code,
            "channel": "phone",
            "subject": "基准受理",
            "caller_phone": "13800000000",
        }
        headers = {"X-CSRFToken": CSRF, "Referer": base + "/"}
        times: list[float] = []
        errors = 0

        async def agent(cookies: dict[str, str], until: float, record: bool) -> None:
            nonlocal errors
            async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as c:
                while time.perf_counter() < until:
                    t = time.perf_counter()
                    r = await c.post("/api/v1/tickets/", json=payload, headers=headers)
                    if record:
                        times.append(time.perf_counter() - t)
                        errors += r.status_code != 201

        async def run(seconds: float, record: bool) -> None:
            until = time.perf_counter() + seconds
            await asyncio.gather(*(agent(s, until, record) for s in sessions))

        asyncio.run(run(2, False))  # warm
        load = os.getloadavg()[0]
        asyncio.run(run(args.seconds, True))
        times.sort()
        print(
            f"staff API POST /api/v1/tickets/, {len(sessions)} agents, {args.seconds:g} s, "
            f"load {load:.1f}: {len(times) / args.seconds:.1f} cases/s, "
            f"p50 {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {times[int(len(times) * 0.99)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms, "
            f"errors {errors}"
        )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
