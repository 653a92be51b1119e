"""Profile one case intake in-process (issue #12): the partner API POST and the Open311
POST through Django's full request path (middleware included), one at a time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qingquan_speed \\
        .venv/bin/python -m bench.profile_intake --requests 200 [--profile partner]

Without DATABASE_URL it uses SQLite in var/profile-sqlite/. Prints, per endpoint, the
median and p90 time a request took, the median CPU time of the process (its database
writer thread included; steadier than wall time on a loaded machine), the SQL statements
per request (those of the request itself, counted on its first few requests, which are
not timed; the worker's are not here) and, with --profile,
cProfile's top functions by cumulative time (PROFILE_SORT=tottime: by their own time).
Nothing is asserted: it is a tool for finding where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTED = 5  # requests whose statements are counted (and not timed)


def _setup_env() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")
    if not os.environ.get("DATABASE_URL"):
        data = ROOT / "var" / "profile-sqlite"
        data.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("QINGQUAN_DATA_DIR", str(data))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=["partner", "open311", "staff"], default=None)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    args = parser.parse_args()
    _setup_env()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", interactive=False, verbosity=0)
    from bench.bench_tickets import _setup
    from qingquan.core.actors import system
    from qingquan.partners import services
    from qingquan.partners.models import PartnerClient, Scope

    agents, kind = _setup()
    client = PartnerClient.objects.filter(code="bench-profile").first()
    if client is None:
        client, key = services.partner_client_create(
            actor=system("bench"),
            code="bench-profile",
            name="基准剖析",
            channel="provincial",
            scopes=[Scope.CASES_WRITE.value, Scope.CASES_READ.value, Scope.OPEN311.value],
            intake_owner=agents[0],
            rate_limit_per_minute=100_000_000,
        )
    else:
        _r, key = services.api_key_issue(actor=system("bench"), client=client, label="profile")
    http = Client(HTTP_X_FORWARDED_PROTO="https", SERVER_NAME="127.0.0.1")

    def partner() -> int:
        u = uuid.uuid4().hex
        body = {
            "kind": kind.code,
            "subject": f"基准受理 {u}",
            "description": f"海曙区基准路停水，请尽快处理 {u}",
            "caller_name": "基准来电人",
            "caller_phone": "13900000000",
            "address": "海曙区基准路 1 号",
            "external_id": u,
        }
        r = http.post(
            "/api/partner/v1/cases",
            data=json.dumps(body, ensure_ascii=False),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
            HTTP_IDEMPOTENCY_KEY=u,
        )
        return r.status_code

    def open311() -> int:
        u = uuid.uuid4().hex
        q = urllib.parse.quote
        body = (
            f"api_key={q(key)}&service_code={q(kind.code)}"
            f"&description={q('基准受理 ' + u + chr(10) + '海曙区基准路停水')}"
            f"&address_string={q('海曙区基准路 1 号')}&phone=13900000000"
            f"&first_name={q('来电人')}&last_name={q('基准')}"
        )
        r = http.post(
            "/open311/v2/requests.json",
            data=body,
            content_type="application/x-www-form-urlencoded",
        )
        return r.status_code

    staff = Client(HTTP_X_FORWARDED_PROTO="https", SERVER_NAME="127.0.0.1")
    staff.force_login(agents[1])

    def staff_api() -> int:
        body = {"kind": kind.code, "channel": "phone", "subject": "基准受理"}
        body["caller_phone"] = "13800000000"
        r = staff.post("/api/v1/tickets/", data=body, content_type="application/json")
        return r.status_code

    endpoints = (("partner", partner, 201), ("open311", open311, 201), ("staff", staff_api, 201))
    for name, call, expected in endpoints:
        for _ in range(5):  # warm
            assert call() == expected
        times: list[float] = []
        cpu: list[float] = []
        counts: list[int] = []
        kinds: Counter[str] = Counter()
        profiler = cProfile.Profile() if args.profile == name else None
        for i in range(args.requests):
            # Statements are counted on the first requests only: capturing them turns on
            # Django's debug cursor, whose own cost would be in the times.
            capture = i < COUNTED
            with CaptureQueriesContext(connection) if capture else nullcontext() as queries:
                t = time.perf_counter()
                c = time.process_time()
                if profiler and not capture:
                    profiler.enable()
                status = call()
                if profiler and not capture:
                    profiler.disable()
                if not capture:
                    times.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - c)
            assert status == expected, status
            if queries is None:
                continue
            counts.append(len(queries.captured_queries))
            if i == 0:
                for q in queries.captured_queries:
                    kinds[q["sql"].split()[0].upper()] += 1
                if args.sql:
                    for q in queries.captured_queries:
                        print("   ", q["sql"][:160])
        times.sort()
        print(
            f"{name} ({connection.vendor}): median {statistics.median(times) * 1000:.1f} ms, "
            f"p90 {times[int(len(times) * 0.9)] * 1000:.1f} ms, "
            f"CPU median {statistics.median(cpu) * 1000:.1f} ms, "
            f"SQL/request {statistics.mean(counts):.1f} ({dict(kinds)})"
        )
        if profiler:
            out = io.StringIO()
            order = os.environ.get("PROFILE_SORT", "cumulative")
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
