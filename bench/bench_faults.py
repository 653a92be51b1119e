"""Fault bench (#23): partner cases under load while processes are killed and the database
restarts; what was acknowledged, lost, repeated, late.

One shape per database, as the runner calls it:

- **sqlite**: the embedded default, `qingquan serve` with its in-process worker; kill -9 of
  `serve` at 35 % of the run, started again 2 s later (as systemd's `Restart=always`).
- **postgres**: `qingquan serve --workers 2 --no-worker` and `qingquan worker`; kill -9 of
  one web process at 25 % (uvicorn starts a new one), of the worker at 45 % (started again
  2 s later) and a PostgreSQL restart at 65 % (`pg_ctlcluster … restart`).

16 clients post `POST /api/partner/v1/cases`, each with its own Idempotency-Key (and the key
as external id and subject), retrying the same key after any failure. A webhook receiver
on loopback records every `case.created` delivery. A case planted with its resolution
deadline just after the worker kill (sqlite: the serve kill) tells how late the SLA sweep
flagged it. Prints acknowledged, lost, duplicated, errors by kind, longest outage, p50/p99
of requests, webhooks delivered 0/1/2+ times and their lag, and the planted deadline's
lateness; writes bench/results/faults-<database>.json.

It restarts PostgreSQL, so it runs only when asked for: `bin/bench -k faults` (or
QINGQUAN_BENCH_FAULTS=1); QINGQUAN_BENCH_PG_CLUSTER ("15 main" by default) names the
cluster it restarts, best a cluster of its own. `--scale 0.2` makes a 24-second run per shape.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Measurement
from qingquan.core.actors import system

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 16
RESTART_SECONDS = 2.0  # systemd's RestartSec in docs/operations.md
RETRY_SECONDS = 0.5
DRAIN_SECONDS = 120  # after the load: time allowed for webhooks and the planted deadline
SWEEP_PERIOD = 60
# The cluster restarted by the fault ("VERSION NAME" as pg_ctlcluster takes them). Point
# QINGQUAN_BENCH_POSTGRES_URL at a cluster of its own (e.g. `pg_createcluster 15 bench -p
# 5433 --start`) so the restart does not cut anyone else's connections.
PG_CLUSTER = os.environ.get("QINGQUAN_BENCH_PG_CLUSTER", "15 main").split()
PG_LOG = Path(f"/var/log/postgresql/postgresql-{PG_CLUSTER[0]}-{PG_CLUSTER[1]}.log")


def _wanted() -> bool:
    argv = " ".join(sys.argv)
    return os.environ.get("QINGQUAN_BENCH_FAULTS") == "1" or "-k faults" in argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The webhook receiver and the processes under test
# --------------------------------------------------------------------------------------


class Receiver:
    """A loopback HTTP server recording each delivery: (delivery id, case number, time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, float]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with outer.lock:
                    outer.received.append(
                        (self.headers["X-Qingquan-Delivery"], body["case"]["number"], time.time())
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Proc:
    """One supervised process: restarted `RESTART_SECONDS` after it dies (Restart=always)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = log.open("a")
        self.process: subprocess.Popen[bytes] | None = None
        self.died_at: float | None = None
        self.stopping = False
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.died_at = None

    def children(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill9(self, pid: int | None = None) -> None:
        assert self.process is not None
        os.kill(pid or self.process.pid, signal.SIGKILL)

    def supervise(self) -> None:
        assert self.process is not None
        if self.stopping or self.process.poll() is None:
            return
        if self.died_at is None:
            self.died_at = time.monotonic()
            _log(f"{self.name} exited ({self.process.returncode}); restarting")
        elif time.monotonic() - self.died_at >= RESTART_SECONDS:
            self.start()

    def stop(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


# --------------------------------------------------------------------------------------
# Data in the bench database (the runner process has Django set up on it)
# --------------------------------------------------------------------------------------


def _db(fn: Any, *, seconds: float = 60) -> Any:
    """Run a query, waiting out a database restart."""
    from django.db import InterfaceError, OperationalError, connection

    deadline = time.monotonic() + seconds
    while True:
        try:
            return fn()
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _fixtures(receiver_url: str, run: str) -> str:
    """The partner client (high rate limit), its subscription to the receiver; its key."""
    from qingquan.partners import services
    from qingquan.partners.models import PartnerClient
    from qingquan.staff import services as staff_services
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    owner = User.objects.filter(username="faults-inbox").first() or staff_services.staff_create(
        actor=system("bench"),
        username="faults-inbox",
        full_name="Fault bench inbox",
        role=Role.AGENT,
        password=None,
        validate=False,
    )
    client = PartnerClient.objects.filter(code="faults").first()
    if client is None:
        client, key = services.partner_client_create(
            actor=system("bench"),
            code="faults",
            name="Fault bench",
            channel="provincial",
            scopes=["cases:read", "cases:write"],
            intake_owner=owner,
            rate_limit_per_minute=1_000_000,
        )
    else:
        _key, key = services.api_key_issue(actor=system("bench"), client=client, label=run)
    client.subscriptions.update(is_active=False)
    services.subscription_save(
        actor=system("bench"),
        client=client,
        url=receiver_url,
        events=["case.created"],
        secret="bench",
    )
    return key


def _plant(run: str, deadline: dt.datetime) -> int:
    """A case whose resolution deadline falls at `deadline` (inside a fault)."""
    from qingquan.staff.models import User
    from qingquan.tickets import services as ticket_services
    from qingquan.tickets.models import CaseKind, SlaState, Ticket

    owner = User.objects.get(username="faults-inbox")
    ticket = ticket_services.ticket_create(
        actor=owner,
        kind=CaseKind.objects.get(code="bill"),
        channel="phone",
        subject=f"{run}-planted",
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        resolution_deadline=deadline, warn_at=deadline, sla_state=SlaState.OK
    )
    return int(ticket.pk)


# --------------------------------------------------------------------------------------
# The load
# --------------------------------------------------------------------------------------


@dataclass
class Load:
    base: str
    key: str
    run: str
    stop_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    acks: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (number, time)
    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    gave_up: int = 0

    def client(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=15) as http:
            n = 0
            while time.monotonic() < self.stop_at:
                key = f"{self.run}-{index}-{n}"
                n += 1
                self._create(http, key)

    def _create(self, http: httpx.Client, key: str) -> None:
        body = {"kind": "repair-leak", "subject": key, "external_id": key}
        while True:
            started = time.monotonic()
            try:
                response = http.post(
                    "/api/partner/v1/cases", json=body, headers={"Idempotency-Key": key}
                )
            except httpx.ConnectError:
                kind = "connect error"
            except httpx.TimeoutException:
                kind = "timeout"
            except httpx.HTTPError as error:
                kind = type(error).__name__
            else:
                if response.status_code in (200, 201):
                    with self.lock:
                        self.acks[key] = (response.json()["number"], time.time())
                        self.latencies.append(time.monotonic() - started)
                    return
                kind = f"HTTP {response.status_code}"
            with self.lock:
                self.errors[kind] += 1
            if time.monotonic() > self.stop_at + 60:
                with self.lock:
                    self.gave_up += 1
                return
            time.sleep(RETRY_SECONDS)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --------------------------------------------------------------------------------------
# One shape
# --------------------------------------------------------------------------------------


def _processes(database: str, port: int, logs: Path) -> dict[str, Proc]:
    env = {**os.environ, "QINGQUAN_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    qingquan = [sys.executable, "-m", "qingquan.cli"]
    host = ["--host", "127.0.0.1", "--port", str(port), "--no-demo"]
    if database == "sqlite":
        return {"serve": Proc("serve", [*qingquan, "serve", *host], env, logs / "serve.log")}
    web = [*qingquan, "serve", *host, "--workers", "2", "--no-worker"]
    return {
        "web": Proc("web", web, env, logs / "web.log"),
        "worker": Proc("worker", [*qingquan, "worker"], env, logs / "worker.log"),
    }


def _log_size() -> int:
    try:
        return PG_LOG.stat().st_size
    except OSError:
        return 0


def _postgres_errors(since: int) -> dict[str, int]:
    """ERROR lines PostgreSQL logged for this bench's database since `since` (bytes)."""
    name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1]
    if not name or not PG_LOG.exists():
        return {}
    with PG_LOG.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    errors: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        if f"@{name} " in line and " ERROR: " in line:
            errors[line.split(" ERROR: ", 1)[1][:60]] += 1
    return dict(errors)


def _server_log_counts(logs: Path) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for path in logs.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            for needle in ("Traceback", "database unavailable", "database back", "took over"):
                if needle in line:
                    counts[needle] += 1
    return dict(counts)


def _wait_up(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not come up")


def run_shape(database: str, duration: float) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count

    from qingquan.core import clock
    from qingquan.partners.models import PartnerCase
    from qingquan.tickets.models import Ticket

    run = f"f{uuid.uuid4().hex[:6]}"
    logs = ROOT / "var" / f"bench-faults-{database}"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    pg_log_start = _log_size()
    receiver = Receiver()
    key = _fixtures(receiver.url, run)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    procs = _processes(database, port, logs)
    supervising = threading.Event()

    def supervise() -> None:
        while not supervising.wait(0.3):
            for proc in procs.values():
                proc.supervise()

    threading.Thread(target=supervise, daemon=True).start()
    faults: list[tuple[str, float]] = []
    try:
        _wait_up(base)
        if database == "postgres":  # the worker too: it prints once its loops run
            time.sleep(3)
        connection.close()
        start = time.monotonic()
        wall_start = time.time()
        plan = (
            [(0.35, "kill -9 serve")]
            if database == "sqlite"
            else [
                (0.25, "kill -9 a web process"),
                (0.45, "kill -9 the worker"),
                (0.65, "restart PostgreSQL"),
            ]
        )
        # Just after the worker kill (PostgreSQL), or the serve kill (SQLite).
        fault_share = plan[1][0] if len(plan) > 1 else plan[0][0]
        planted_at = clock.now() + dt.timedelta(seconds=duration * fault_share + 1)
        planted = _plant(run, planted_at)
        connection.close()
        load = Load(base=base, key=key, run=run, stop_at=start + duration)
        clients = [threading.Thread(target=load.client, args=(i,)) for i in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for share, fault in plan:
            time.sleep(max(0.0, start + share * duration - time.monotonic()))
            _log(fault)
            faults.append((fault, time.time()))
            if fault == "kill -9 serve":
                procs["serve"].kill9()
            elif fault == "kill -9 a web process":
                children = procs["web"].children()
                procs["web"].kill9(children[0] if children else None)
            elif fault == "kill -9 the worker":
                procs["worker"].kill9()
            else:
                subprocess.run(
                    ["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, "restart"],
                    check=True,
                    timeout=120,
                )
        for thread in clients:
            thread.join()
        load_end = time.time()
        _log(f"load done: {len(load.acks)} acknowledged; waiting for webhooks and the sweep")
        numbers = {number for number, _t in load.acks.values()}
        drain_until = time.monotonic() + DRAIN_SECONDS
        flagged_at: float | None = None
        while time.monotonic() < drain_until:
            if flagged_at is None:
                state = _db(
                    lambda: Ticket.objects.values_list("sla_state", flat=True).get(pk=planted)
                )
                if state == "breached":
                    flagged_at = time.time()
            with receiver.lock:
                got = {number for _d, number, _t in receiver.received}
            if flagged_at is not None and numbers <= got:
                break
            time.sleep(0.5)
    finally:
        supervising.set()
        for proc in procs.values():
            proc.stop()
        receiver.close()

    # What the database holds for this run.
    created = set(
        _db(
            lambda: list(
                PartnerCase.objects.filter(external_id__startswith=f"{run}-").values_list(
                    "external_id", flat=True
                )
            )
        )
    )
    duplicated = _db(
        lambda: (
            Ticket.objects.filter(subject__startswith=f"{run}-")
            .exclude(subject=f"{run}-planted")
            .values("subject")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .count()
        )
    )
    lost = [k for k in load.acks if k not in created]
    deliveries: dict[str, list[tuple[str, float]]] = collections.defaultdict(list)
    for delivery_id, number, at in receiver.received:
        deliveries[number].append((delivery_id, at))
    counts = collections.Counter(
        min(len(deliveries.get(number, [])), 2) for number, _t in load.acks.values()
    )
    repeats_same_id = sum(
        1 for items in deliveries.values() if len(items) > 1 and len({d for d, _ in items}) == 1
    )
    windows = [(at, at + 15) for _f, at in faults]
    lags, lags_outside = [], []
    for number, acked in load.acks.values():
        if number in deliveries:
            lag = min(at for _d, at in deliveries[number]) - acked
            lags.append(lag)
            if not any(lo <= acked <= hi for lo, hi in windows):
                lags_outside.append(lag)
    ack_times = sorted([wall_start] + [t for _n, t in load.acks.values()] + [load_end])
    longest_outage = max(b - a for a, b in itertools.pairwise(ack_times))
    deadline_ts = planted_at.timestamp()
    report = {
        "database": database,
        "shape": "serve (embedded)"
        if database == "sqlite"
        else "serve --workers 2 --no-worker + worker",
        "duration_s": duration,
        "clients": CLIENTS,
        "faults": [(f, round(at - wall_start, 1)) for f, at in faults],
        "acknowledged": len(load.acks),
        "rate_per_s": round(len(load.acks) / duration, 1),
        "lost": len(lost),
        "duplicated": duplicated,
        "created_not_acknowledged": len(created - set(load.acks)),
        "gave_up": load.gave_up,
        "errors": dict(load.errors),
        "longest_outage_s": round(longest_outage, 1),
        "request_p50_ms": round(_pct(load.latencies, 0.5) * 1000),
        "request_p99_ms": round(_pct(load.latencies, 0.99) * 1000),
        "webhooks_0_1_2plus": [counts.get(0, 0), counts.get(1, 0), counts.get(2, 0)],
        "webhook_repeats_same_id": repeats_same_id,
        "webhook_lag_p50_s": round(_pct(lags, 0.5), 2),
        "webhook_lag_p99_s": round(_pct(lags, 0.99), 2),
        "webhook_lag_p99_outside_faults_s": round(_pct(lags_outside, 0.99), 2),
        "planted_deadline_at_s": round(deadline_ts - wall_start, 1),
        "planted_flagged_late_s": round(flagged_at - deadline_ts, 1) if flagged_at else None,
        "server_logs": _server_log_counts(logs),
        "postgres_errors": _postgres_errors(pg_log_start) if database == "postgres" else {},
    }
    return report


def _print(report: dict[str, Any]) -> None:
    lines = [
        f"== fault bench: {report['database']} — {report['shape']}, {report['clients']} "
        f"clients, {report['duration_s']:.0f} s ==",
        f"faults at (s): {report['faults']}",
        f"acknowledged {report['acknowledged']} ({report['rate_per_s']}/s), "
        f"lost {report['lost']}, duplicated {report['duplicated']}, "
        f"created but never acknowledged {report['created_not_acknowledged']}, "
        f"gave up {report['gave_up']}",
        f"errors by kind: {report['errors'] or 'none'}",
        f"longest outage {report['longest_outage_s']} s; requests p50 "
        f"{report['request_p50_ms']} ms, p99 {report['request_p99_ms']} ms",
        f"case.created webhooks delivered 0/1/2+ times: "
        f"{'/'.join(str(n) for n in report['webhooks_0_1_2plus'])} "
        f"(repeats under the same delivery id: {report['webhook_repeats_same_id']})",
        f"webhook lag ack→receipt p50 {report['webhook_lag_p50_s']} s, p99 "
        f"{report['webhook_lag_p99_s']} s, p99 outside the faults "
        f"{report['webhook_lag_p99_outside_faults_s']} s",
        f"server logs: {report['server_logs']}; PostgreSQL errors for this database: "
        f"{report['postgres_errors'] or 'none'}",
        f"planted SLA deadline at {report['planted_deadline_at_s']} s flagged "
        + (
            f"{report['planted_flagged_late_s']} s late"
            if report["planted_flagged_late_s"] is not None
            else f"NOT within {DRAIN_SECONDS} s after the load"
        ),
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def cases(ctx: Any) -> list[Measurement]:
    if not _wanted():
        _log("skipped (restarts PostgreSQL): run it with bin/bench -k faults")
        return []
    duration = max(15.0, 120.0 * ctx.scale)
    report = run_shape(ctx.database, duration)
    _print(report)
    out = ROOT / "bench" / "results" / f"faults-{ctx.database}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    summary = (
        f"ack {report['acknowledged']}, lost {report['lost']}, dup {report['duplicated']}, "
        f"errors {report['errors']}, webhooks 0/1/2+ {report['webhooks_0_1_2plus']}"
    )
    late = report["planted_flagged_late_s"]
    return [
        Measurement("faults: longest outage", report["longest_outage_s"], None, summary),
        Measurement(
            "faults: webhook p99 outside faults",
            report["webhook_lag_p99_outside_faults_s"],
            5.0,
        ),
        Measurement(
            "faults: planted SLA deadline flagged late by",
            late if late is not None else float(DRAIN_SECONDS),
            SWEEP_PERIOD + 10.0,
        ),
    ]
