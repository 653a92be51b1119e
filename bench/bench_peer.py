"""Intake against a real peer (issue #12): osTicket v1.18.1 beside Qingquan's two serving
shapes and the physical limit of this machine, in alternating rounds of the same load.

Systems, each measured alone in its window of every round:
- osTicket (nginx + php-fpm static pool of 4 + MariaDB), POST /api/tickets.json;
- Qingquan embedded (`qingquan serve`, SQLite, in-process worker): the partner API
  (POST /api/partner/v1/cases) and Open311 (POST /open311/v2/requests.json);
- Qingquan production shape (PostgreSQL, `serve --workers 2 --no-worker` + one
  `qingquan worker`, Redis, QINGQUAN_ENV=production): the same two endpoints;
- the same production shape served by gunicorn's threaded WSGI workers (`gunicorn -k gthread
  -w 2 --threads 8 qingquan.wsgi`) instead of uvicorn, when gunicorn (the bench extra) is
  installed: the measurement behind the serving model (docs/decisions/0011);
- the physical limit on SQLite and on PostgreSQL (bench/peer_limit.py: the rows of a case
  written with the driver alone, as many client threads as connections).

Load: wrk, `connections` connections (16), every request unique (body, Idempotency-Key,
external id, caller phone), 30 s timeout (bench/peer_load.py). Every answer's id is checked
against the system's database afterwards: 0 lost, 0 duplicated.

The module sets up its own databases (var/bench-peer/: osTicket, SQLite; PostgreSQL
`qingquan_bench_peer`), so it runs once per `bin/bench` run (ONCE). Select it alone with
`bin/bench -k peer --duration 30 --rounds 3`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bench.context import BenchContext
from bench.harness import Figure
from bench.peer_load import LoadResult, Target, run_wrk, wrk_path
from bench.peer_osticket import API_KEY, Peer, Unavailable, ensure_packages

ONCE = True
ROOT = Path(__file__).resolve().parent.parent
POSTGRES_DEFAULT = "postgres://postgres@127.0.0.1:5432/qingquan_bench_peer"
REDIS_DEFAULT = "redis://127.0.0.1:6379/12"
FORWARDED = {"X-Forwarded-Proto": "https"}  # production redirects plain HTTP to HTTPS

# Targets of issue #12 (× osTicket's tickets/s per shape).
TARGET_RATIO = {"embedded": 5.0, "production": 10.0}
MAX_MS = 1000.0
MIN_LIMIT_SHARE = 0.5
FLOOR_STATUS = 401  # the floor's request is refused at authentication


def _data_root() -> Path:
    return Path(os.environ.get("QINGQUAN_BENCH_DATA_DIR", str(ROOT / "var"))) / "bench-peer"


def _port(variable: str) -> int:
    if os.environ.get(variable):
        return int(os.environ[variable])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _loadavg() -> float:
    return os.getloadavg()[0]


# ---------------------------------------------------------------------------------------
# Qingquan: databases, servers, checks
# ---------------------------------------------------------------------------------------


@dataclass
class Shape:
    """One Qingquan serving shape: its environment, its processes and its database."""

    name: str  # "embedded", "production" or "production-gthread"
    env: dict[str, str]
    port: int
    data_dir: Path
    postgres_url: str = ""
    setup: dict[str, Any] = field(default_factory=dict)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def family(self) -> str:
        """The database family, for targets and the physical limit: embedded or production."""
        return "embedded" if self.name == "embedded" else "production"

    @property
    def headers(self) -> dict[str, str]:
        return FORWARDED if self.family == "production" else {}

    def prepare(self) -> None:
        """Migrate, create the partner client and key, the template case (child process)."""
        done = subprocess.run(
            [sys.executable, "-m", "bench.peer_qingquan"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("@@PEER-SETUP@@")), None)
        if line is None:
            raise RuntimeError(f"{self.name} set-up failed: {done.stderr[-1500:]}")
        self.setup = json.loads(line[len("@@PEER-SETUP@@") :])

    def start(self) -> float:
        """Start the shape's processes; returns the first request's time in ms (cold)."""
        command = str(Path(sys.executable).parent / "qingquan")
        log = (self.data_dir / "server.log").open("ab")
        serve = [command, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.name == "embedded":
            serve.append("--no-demo")
        elif self.name == "production-gthread":
            serve = [str(Path(sys.executable).parent / "gunicorn"), "qingquan.wsgi:application"]
            serve += ["-k", "gthread", "-w", "2", "--threads", "8", "--timeout", "60"]
            serve += ["-b", f"127.0.0.1:{self.port}", "--backlog", "256"]
        else:
            serve += ["--workers", "2", "--no-worker"]
        self._processes.append(
            subprocess.Popen(serve, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        )
        if self.family == "production":
            self._processes.append(
                subprocess.Popen(
                    [command, "worker"], cwd=ROOT, env=self.env, stdout=log, stderr=log
                )
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._processes[0].poll() is not None:
                raise RuntimeError(f"{self.name} server exited; see {self.data_dir}/server.log")
            try:
                httpx.get(f"{self.base_url}/healthz", headers=self.headers, timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{self.name} server did not start on {self.base_url}")
        started = time.perf_counter()
        answer = httpx.post(
            f"{self.base_url}/api/partner/v1/cases",
            headers={**self._partner_headers(), "Idempotency-Key": secrets.token_hex(8)},
            content=json.dumps(self._partner_case(f"warm-{secrets.token_hex(6)}")),
            timeout=60,
        )
        cold_ms = (time.perf_counter() - started) * 1000
        if answer.status_code != 201:
            raise RuntimeError(f"{self.name}: warm-up answered {answer.status_code}: {answer.text}")
        return cold_ms

    def warm(self, target: Target, connections: int) -> None:
        """Two requests per connection before measuring (every process answers some)."""
        run_wrk(
            target,
            run=f"warm{secrets.token_hex(3)}",
            work=self.data_dir / "load",
            connections=connections,
            seconds=1,
        )

    def pid(self) -> int | None:
        """The web server's process (its workers are its children)."""
        return self._processes[0].pid if self._processes else None

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()

    # -- requests -----------------------------------------------------------------------

    def _partner_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.setup['key']}",
            "Content-Type": "application/json",
            **self.headers,
        }

    def _partner_case(self, u: str, phone: str = "13900000000") -> dict[str, str]:
        return {
            "kind": self.setup["kind"],
            "subject": f"基准受理 {u}",
            "description": f"海曙区基准路停水，请尽快处理 {u}",
            "caller_name": "基准来电人",
            "caller_phone": phone,
            "address": "海曙区基准路 1 号",
            "external_id": u,
        }

    def partner_target(self) -> Target:
        body = json.dumps(self._partner_case("{u}", "{phone}"), ensure_ascii=False)
        return Target(
            label=f"Qingquan {self.name}, partner API",
            url=self.base_url,
            path="/api/partner/v1/cases",
            headers=self._partner_headers(),
            body=body,
            id_pattern='"number"%s*:%s*"([^"]+)"',
            idempotency=True,
        )

    def floor_target(self) -> Target:
        """The partner API's request with a token that is not a key: refused at
        authentication (401) after the HTTP server, Django's middleware, the URL and the
        API framework have done their part, before any database work (Django logs the
        refusal, as it logs every 4xx). The cheapest answer this stack gives to the same
        request: its floor, beside which a case's own work shows."""
        target = self.partner_target()
        headers = {**target.headers, "Authorization": "Bearer qqk_not-a-key-of-any-client"}
        return replace(target, label=f"Qingquan {self.name}, floor", headers=headers)

    def open311_target(self) -> Target:
        def q(value: str) -> str:
            return urllib.parse.quote(value, safe="")

        body = (
            f"api_key={q(self.setup['key'])}&service_code={q(self.setup['kind'])}"
            f"&description={q('基准受理 ')}{{u}}{q(chr(10) + '海曙区基准路停水')}"
            f"&address_string={q('海曙区基准路 1 号')}&phone={{phone}}"
            f"&first_name={q('来电人')}&last_name={q('基准')}"
        )
        return Target(
            label=f"Qingquan {self.name}, Open311",
            url=self.base_url,
            path="/open311/v2/requests.json",
            headers={"Content-Type": "application/x-www-form-urlencoded", **self.headers},
            body=body,
            id_pattern='"service_request_id"%s*:%s*"([^"]+)"',
        )

    # -- the database -------------------------------------------------------------------

    def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        if self.postgres_url:
            import psycopg

            with psycopg.connect(self.postgres_url) as conn:
                return list(conn.execute(sql, params).fetchall())
        path = self.data_dir / "qingquan.sqlite3"
        with sqlite3.connect(path, timeout=30) as conn:
            return list(conn.execute(sql.replace("%s", "?"), params).fetchall())

    def last_ticket_id(self) -> int:
        return int(self._query("SELECT COALESCE(MAX(id), 0) FROM tickets_ticket", [])[0][0])

    def tickets_after(self, ticket_id: int) -> list[tuple[str, str]]:
        """(number, subject) of the cases the partner client brought in after `ticket_id`."""
        return [
            (str(n), str(s))
            for n, s in self._query(
                "SELECT t.number, t.subject FROM tickets_ticket t "
                "JOIN partners_partnercase p ON p.ticket_id = t.id WHERE t.id > %s",
                [ticket_id],
            )
        ]

    def limit_command(self) -> list[str]:
        where = (
            ["--postgres", self.postgres_url]
            if self.postgres_url
            else ["--sqlite", str(self.data_dir / "qingquan.sqlite3")]
        )
        return [sys.executable, "-m", "bench.peer_limit", *where]


def _shapes(work: Path, port: int) -> tuple[list[Shape], list[str]]:
    """The embedded default always; the production shape when PostgreSQL can be reached."""
    notes: list[str] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("QINGQUAN_")}
    base.pop("DATABASE_URL", None)
    base.pop("REDIS_URL", None)
    base["DJANGO_SETTINGS_MODULE"] = "qingquan.settings"
    embedded_dir = work / "sqlite"
    embedded_dir.mkdir(parents=True, exist_ok=True)
    shapes = [
        Shape(
            name="embedded",
            env={**base, "QINGQUAN_DATA_DIR": str(embedded_dir)},
            port=port,
            data_dir=embedded_dir,
        )
    ]
    url = os.environ.get("QINGQUAN_BENCH_PEER_POSTGRES_URL", POSTGRES_DEFAULT)
    parsed = urllib.parse.urlparse(url)
    if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 5432):
        notes.append(f"production shape skipped: PostgreSQL at {parsed.netloc} unreachable")
        return shapes, notes
    from bench.runner import _ensure_postgres_database

    _ensure_postgres_database(url)
    production_dir = work / "postgres"
    production_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **base,
        "QINGQUAN_ENV": "production",
        "QINGQUAN_SECRET_KEY": secrets.token_urlsafe(64),
        "QINGQUAN_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "QINGQUAN_DATA_DIR": str(production_dir),
        "DATABASE_URL": url,
    }
    redis = os.environ.get("QINGQUAN_BENCH_REDIS_URL", REDIS_DEFAULT)
    redis_at = urllib.parse.urlparse(redis)
    if _reachable(redis_at.hostname or "127.0.0.1", redis_at.port or 6379):
        env["REDIS_URL"] = redis
    else:
        notes.append(f"production shape runs without Redis ({redis_at.netloc} unreachable)")
    shapes.append(
        Shape(name="production", env=env, port=port, data_dir=production_dir, postgres_url=url)
    )
    if (Path(sys.executable).parent / "gunicorn").exists():
        shapes.append(
            Shape(
                name="production-gthread",
                env=env,
                port=port,
                data_dir=production_dir,
                postgres_url=url,
            )
        )
    else:
        notes.append("gunicorn (the bench extra) missing: the WSGI variant was not measured")
    return shapes, notes


# ---------------------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------------------


@dataclass
class Row:
    """One system's results over the rounds."""

    system: str
    endpoint: str
    shape: str = ""  # "embedded"/"production" for Qingquan, "" otherwise
    rounds: list[LoadResult] = field(default_factory=list)
    per_second: list[float] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    unanswered_written: int = 0
    cold_ms: list[float] = field(default_factory=list)
    statements: float | None = None
    statements_note: str = ""
    limit_errors: int = 0
    # The stack's floor (`Shape.floor_target`): answers are refusals, counted as such.
    floor: bool = False

    @property
    def tps(self) -> float:
        return statistics.median(self.per_second) if self.per_second else 0.0

    @property
    def p50(self) -> float | None:
        return statistics.median(r.p50_ms for r in self.rounds) if self.rounds else None

    @property
    def p99(self) -> float | None:
        return max(r.p99_ms for r in self.rounds) if self.rounds else None

    @property
    def max(self) -> float | None:
        return max(r.max_ms for r in self.rounds) if self.rounds else None

    @property
    def errors(self) -> int:
        if self.floor:  # its refusals are the answer it asks for
            return sum(_floor_answers(r)[1] for r in self.rounds)
        return sum(r.errors for r in self.rounds) + self.limit_errors


def _floor_answers(result: LoadResult) -> tuple[int, int]:
    """A floor window's refusals (its answers) and its errors: any other status, socket
    errors and timeouts."""
    refused = sum(1 for status, _id in result.answers if status == FLOOR_STATUS)
    return refused, result.socket_errors + result.timeouts + len(result.answers) - refused


def _check(row: Row, result: LoadResult, written: list[tuple[str, str]], run: str) -> None:
    """Every answered id in the database once; written but unanswered rows counted apart."""
    answered = result.ok_ids
    numbers = {n for n, _s in written}
    row.lost += sum(1 for i in set(answered) if i not in numbers)
    row.duplicated += len(answered) - len(set(answered))
    tokens = [m.group(0) for _n, s in written if (m := re.search(rf"{run}-\d+-\d+", s))]
    row.duplicated += len(tokens) - len(set(tokens))
    row.unanswered_written += len(numbers - set(answered))


def _measure(
    row: Row,
    target: Target,
    *,
    run: str,
    work: Path,
    ctx: BenchContext,
    last_id: Callable[[], int],
    written_after: Callable[[int], list[tuple[str, str]]],
    loads: list[float],
) -> None:
    before = last_id()
    load_before = _loadavg()
    result = run_wrk(
        target, run=run, work=work / "load", connections=ctx.connections, seconds=ctx.duration
    )
    loads.append((load_before + _loadavg()) / 2)
    time.sleep(0.5)  # answers still in flight when wrk stopped
    row.rounds.append(result)
    errors = result.errors
    if row.floor:
        refused, errors = _floor_answers(result)
        row.per_second.append(refused / result.seconds if result.seconds else 0.0)
        if written_after(before):
            raise RuntimeError(f"{row.system}: a refused request wrote a case")
    else:
        _check(row, result, written_after(before), run)
        row.per_second.append(len(result.ok_ids) / result.seconds if result.seconds else 0.0)
    print(
        f"  {row.system} {row.endpoint}: {row.per_second[-1]:.1f}/s p50 {result.p50_ms:.0f} ms "
        f"p99 {result.p99_ms:.0f} ms max {result.max_ms:.0f} ms errors {errors}",
        file=sys.stderr,
        flush=True,
    )


def _profile_start(shape: Shape, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy (the bench extra) sampling the shape's web processes for `seconds`."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists() or not shape.pid():
        return None
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(shape.pid()),
            "--subprocesses",
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "100",
            # Only samples holding the GIL: where the processes spend CPU in Python.
            "--gil",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def profile_summary(raw: Path, top: int = 25) -> str:
    """From py-spy's collapsed stacks: the project's own frames with the share of samples
    under them (inclusive), the database driver's share, and where the samples themselves
    were taken (self)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return "no samples"

    def lines(table: dict[str, int]) -> list[str]:
        best = sorted(table.items(), key=lambda item: (-item[1], item[0]))[:top]
        return [f"  {n / total:6.1%}  {frame}" for frame, n in best]

    project = {f: n for f, n in inclusive.items() if "(qingquan/" in f}
    layers: dict[str, int] = {}
    for frame, n in own.items():
        layer = layer_of(frame)
        layers[layer] = layers.get(layer, 0) + n
    return "\n".join(
        [
            f"{total} samples; by layer (where each sample was taken):",
            *lines(layers),
            "inclusive, the project's frames:",
            *lines(project),
            "self:",
            *lines(own),
        ]
    )


# Where a sample was taken, by the file of its innermost Python frame, first match wins:
# what is left of a case's CPU once the project's own statements are few (issue #12).
LAYERS = (
    ("database driver, round trips and commits", ("django/db/backends/", "psycopg", "sqlite3")),
    (
        "ORM: building SQL and model instances",
        ("django/db/models/", "django/db/transaction", "django/db/utils"),
    ),
    ("API framework: parsing, validation, JSON", ("ninja/", "pydantic", "json/")),
    (
        "HTTP server, event loop, thread hand-offs",
        ("uvicorn/", "asyncio/", "asgiref/", "concurrent/", "threading", "httptools", "h11/"),
    ),
    ("Django: request, middleware, sessions, URLs", ("django/",)),
    ("the project's own code", ("qingquan/",)),
)


def layer_of(frame: str) -> str:
    """The layer of one py-spy frame ("function (path/file.py:line)")."""
    where = frame.rpartition("(")[2]
    for name, marks in LAYERS:
        if any(mark in where for mark in marks):
            return name
    return "other (standard library, logging, …)"


def _profile(shape: Shape, work: Path, ctx: BenchContext) -> Path:
    """A window of its own after the rounds (sampling slows the processes down), at least
    20 s: the partner API under the same load while py-spy samples the web processes."""
    raw = work / f"profile-{shape.name}.txt"
    raw.unlink(missing_ok=True)
    target = shape.partner_target()
    seconds = max(20.0, ctx.duration)
    shape.start()
    try:
        shape.warm(target, ctx.connections)
        spy = _profile_start(shape, raw, seconds)
        run_wrk(
            target,
            run=f"profile{secrets.token_hex(3)}",
            work=work / "load",
            connections=ctx.connections,
            seconds=seconds,
        )
        if spy is not None:
            spy.wait(timeout=seconds + 60)
    finally:
        shape.stop()
    return raw


def _limit(row: Row, shape: Shape, ctx: BenchContext, *, shared: bool = True) -> None:
    ids = json.dumps({**shape.setup["template"]})
    done = subprocess.run(
        [
            *shape.limit_command(),
            "--template",
            ids,
            "--clients",
            str(ctx.connections),
            "--seconds",
            str(ctx.duration),
            *([] if shared else ["--no-shared-rows"]),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"physical-limit script failed: {done.stderr[-1500:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    row.per_second.append(float(data["per_second"]))
    row.limit_errors += int(data["errors"])
    row.statements = float(data["statements_per_case"])
    print(
        f"  {row.system}: {data['per_second']:.1f} cases/s, errors {data['errors']}",
        file=sys.stderr,
        flush=True,
    )


# ---------------------------------------------------------------------------------------
# SQL statements per ticket
# ---------------------------------------------------------------------------------------


def _postgres_log() -> Path | None:
    explicit = os.environ.get("QINGQUAN_BENCH_PG_LOG")
    candidates = (
        [Path(explicit)] if explicit else sorted(Path("/var/log/postgresql").glob("*main.log"))
    )
    for path in candidates:
        if path.is_file() and os.access(path, os.R_OK):
            return path
    return None


def _send(target: Target, requests: int, *, clients: int) -> None:
    """`requests` unique requests to `target`, `clients` at a time (a fixed count, however
    slow the machine is, so the worker's own statements stay a small part of the window)."""
    from concurrent.futures import ThreadPoolExecutor

    run = f"sql{secrets.token_hex(3)}"

    def one(i: int) -> int:
        u = f"{run}-0-{i}"
        headers = dict(target.headers)
        if target.idempotency:
            headers["Idempotency-Key"] = u
        body = target.body.replace("{u}", u).replace("{phone}", f"138{i:08d}")
        answer = httpx.post(
            target.url + target.path, headers=headers, content=body.encode(), timeout=60
        )
        return answer.status_code

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))


def _count_postgres_statements(shape: Shape, target: Target, requests: int) -> tuple[float, str]:
    """Log every statement of the bench database for a short window
    (log_min_duration_statement = 0 for its new sessions), send `requests` cases 4 at a
    time, count the statements logged per case created (the worker's included)."""
    import psycopg
    from psycopg import sql

    log = _postgres_log()
    if log is None:
        return float("nan"), "PostgreSQL's log is not readable (QINGQUAN_BENCH_PG_LOG)"
    name = shape.postgres_url.rsplit("/", 1)[1]
    admin = shape.postgres_url.rsplit("/", 1)[0] + "/postgres"

    def setting(on: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            statement = (
                "ALTER DATABASE {} SET log_min_duration_statement = 0"
                if on
                else "ALTER DATABASE {} RESET log_min_duration_statement"
            )
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    setting(True)
    try:
        shape.start()
        try:
            work = shape.data_dir / "load"
            run_wrk(
                target, run=f"sqlwarm{secrets.token_hex(3)}", work=work, connections=4, seconds=1
            )
            before_id = shape.last_ticket_id()
            offset = log.stat().st_size
            _send(target, requests, clients=4)
            time.sleep(0.5)  # the server log catches up
            cases = len(shape.tickets_after(before_id))
            with log.open("rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        finally:
            shape.stop()
    finally:
        setting(False)
    total = control = 0
    for line in text.splitlines():
        if f"@{name} " not in line or "duration:" not in line:
            continue
        match = re.search(r"duration: [\d.]+ ms  (?:statement|execute [^:]*): (\w+)", line)
        if match is None:
            continue
        total += 1
        if match.group(1).upper() in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"}:
            control += 1
    if not cases:
        return float("nan"), "no case created in the counting window"
    return total / cases, (
        f"{(total - control) / cases:.0f} without BEGIN/SAVEPOINT/RELEASE/COMMIT; "
        f"{cases} cases, worker included"
    )


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def format_rows(rows: list[Row], peer: Row | None, limits: dict[str, Row]) -> str:
    headers = [
        "system",
        "endpoint",
        "tickets/s",
        "p50",
        "p99",
        "max",
        "errors",
        "× osTicket",
        "% of limit",
        "SQL/ticket",
        "lost/dup",
        "cold 1st",
    ]
    table = []
    for row in rows:
        ratio = (
            f"{row.tps / peer.tps:.2f}×"
            if peer and peer.tps and row is not peer and row.rounds
            else ""
        )
        limit = limits.get(row.shape)
        share = f"{row.tps / limit.tps:.0%}" if limit and limit.tps and row.rounds else ""
        table.append(
            [
                row.system,
                row.endpoint,
                f"{row.tps:,.1f}",
                _ms(row.p50),
                _ms(row.p99),
                _ms(row.max),
                str(row.errors),
                ratio,
                share,
                "—" if row.statements is None else f"{row.statements:.0f}",
                f"{row.lost}/{row.duplicated}" if row.rounds and not row.floor else "",
                _ms(statistics.median(row.cold_ms)) if row.cold_ms else "",
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *table, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in table])


def floor_summary(
    rows: list[Row],
    floors: dict[str, Row],
    peer: Row | None = None,
    limits: dict[str, Row] | None = None,
) -> str:
    """What is left, per shape: the machine's time per partner case (1 / cases per
    second) beside its time per answer of the stack's floor, the same request refused at
    authentication; the difference is the case's own work, which the profile splits. With
    osTicket's rate and the physical limit: the time a case may take to meet each
    throughput target, and what of it the floor and the driver alone (writing the same
    rows, no HTTP) already take."""
    lines = ["time per answer (1 / answers per second, the whole machine):"]
    for family, floor in floors.items():
        case = next(
            (r for r in rows if r.shape == family and "partner" in r.endpoint and r.tps), None
        )
        if case is None or not floor.tps:
            continue
        case_ms, floor_ms = 1000 / case.tps, 1000 / floor.tps
        lines.append(
            f"  {family}: a partner case {case_ms:.2f} ms, the floor {floor_ms:.2f} ms; "
            f"{case_ms - floor_ms:.2f} ms ({1 - floor_ms / case_ms:.0%}) is the case's own "
            f"work (validation, its rows, their signals, the answer)"
        )
        limit = (limits or {}).get(family)
        if limit is None or not limit.tps:
            continue
        driver_ms = 1000 / limit.tps
        budgets = [(f"{MIN_LIMIT_SHARE:.0%} of the physical limit", limit.tps * MIN_LIMIT_SHARE)]
        if peer is not None and peer.tps:
            want = TARGET_RATIO[family]
            budgets.insert(0, (f"{want:g}× osTicket", peer.tps * want))
        for name, rate in budgets:
            budget = 1000 / rate
            left = budget - floor_ms - driver_ms
            lines.append(
                f"    {name} = {rate:,.0f}/s: {budget:.2f} ms a case, of which the floor "
                f"{floor_ms:.2f} and the driver alone {driver_ms:.2f} leave {left:.2f} ms "
                f"for the rest (now {case_ms - floor_ms - driver_ms:.2f} ms)"
            )
    return "\n".join(lines)


def _targets_missed(rows: list[Row], peer: Row | None, limits: dict[str, Row]) -> bool:
    """Whether a throughput target of the table is missed: the ratio to osTicket or the
    share of the physical limit (then the profile says what is left)."""
    for row in rows:
        if not row.shape or not row.rounds:
            continue
        if peer is not None and peer.tps and row.tps / peer.tps < TARGET_RATIO[row.shape]:
            return True
        physical = limits.get(row.shape)
        if physical is not None and physical.tps and row.tps / physical.tps < MIN_LIMIT_SHARE:
            return True
    return False


def _figures(
    rows: list[Row], peer: Row | None, limits: dict[str, Row], header: str, load: float
) -> list[Figure]:
    figures = [
        Figure(name="peer: load average during the run", value=load, unit="(1 min)", note=header)
    ]
    if peer is not None and peer.rounds:
        figures.append(
            Figure(
                name="peer: osTicket POST /api/tickets.json",
                value=peer.tps,
                unit="tickets/s",
                note=f"p50 {_ms(peer.p50)}, p99 {_ms(peer.p99)}, max {_ms(peer.max)}",
            )
        )
    for shape, limit in limits.items():
        figures.append(
            Figure(
                name=f"peer: physical limit, {shape} database",
                value=limit.tps,
                unit="cases/s",
                note=f"driver alone, {limit.system}",
            )
        )
    for row in rows:
        if not row.shape or not row.rounds:
            continue
        server = " (gthread)" if "gthread" in row.system else ""
        label = f"peer: Qingquan {row.shape}{server}, {row.endpoint}"
        if peer is not None and peer.tps:
            want = TARGET_RATIO[row.shape]
            ratio = row.tps / peer.tps
            figures.append(
                Figure(
                    name=f"{label}: tickets/s",
                    value=row.tps,
                    unit="tickets/s",
                    ratio=ratio,
                    target=f"≥ {want:g}× osTicket",
                    ok=ratio >= want,
                )
            )
            assert peer.p99 is not None and row.p99 is not None
            figures.append(
                Figure(
                    name=f"{label}: p99",
                    value=row.p99,
                    unit="ms",
                    ratio=row.p99 / peer.p99,
                    target=f"≤ osTicket's p99 ({peer.p99:,.0f} ms)",
                    ok=row.p99 <= peer.p99,
                )
            )
        else:
            figures.append(Figure(name=f"{label}: tickets/s", value=row.tps, unit="tickets/s"))
        assert row.max is not None
        figures.append(
            Figure(
                name=f"{label}: slowest request",
                value=row.max,
                unit="ms",
                target=f"≤ {MAX_MS:g} ms",
                ok=row.max <= MAX_MS,
            )
        )
        physical = limits.get(row.shape)
        if physical is not None and physical.tps:
            share = row.tps / physical.tps
            figures.append(
                Figure(
                    name=f"{label}: share of the physical limit",
                    value=share * 100,
                    unit="%",
                    ratio=share,
                    target=f"≥ {MIN_LIMIT_SHARE:.0%}",
                    ok=share >= MIN_LIMIT_SHARE,
                )
            )
        figures.append(
            Figure(
                name=f"{label}: lost + duplicated",
                value=row.lost + row.duplicated,
                unit="cases",
                target="0",
                ok=row.lost + row.duplicated == 0,
                note=(
                    f"{row.errors} errors (non-2xx, socket errors, timeouts); "
                    f"{row.unanswered_written} written but unanswered (in flight at the end)"
                ),
            )
        )
    return figures


# ---------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------


def _ensure_wrk() -> None:
    if wrk_path():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            capture_output=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            check=False,
        )
    if not wrk_path():
        raise Unavailable("wrk is not installed (apt-get install wrk)")


def cases(ctx: BenchContext) -> list[Figure]:
    try:
        _ensure_wrk()
    except Unavailable as missing:
        return [Figure(name="peer: skipped", value=0, unit="", note=str(missing))]
    work = _data_root()
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "load", ignore_errors=True)
    notes: list[str] = []

    peer: Peer | None = Peer(home=work / "osticket", port=_port("QINGQUAN_BENCH_PEER_PORT"))
    assert peer is not None
    try:
        ensure_packages()
        peer.start()
    except Unavailable as missing:
        notes.append(f"osTicket skipped: {missing}")
        print(f"peer: osTicket skipped: {missing}", file=sys.stderr)
        peer.stop()
        peer = None

    shapes, shape_notes = _shapes(work, _port("QINGQUAN_BENCH_PORT"))
    notes += shape_notes
    for shape in shapes:
        if shape.name != "production-gthread":  # shares the production shape's database
            shape.prepare()
    for shape in shapes:
        if shape.name == "production-gthread":
            shape.setup = next(s.setup for s in shapes if s.name == "production")

    peer_row = Row("osTicket v1.18.1", "POST /api/tickets.json") if peer else None
    rows: list[Row] = [peer_row] if peer_row else []
    limits: dict[str, Row] = {}
    unshared: dict[str, Row] = {}
    endpoints: dict[str, list[tuple[Row, Target]]] = {}
    floors: dict[str, Row] = {}
    for shape in shapes:
        label = {
            "embedded": "Qingquan embedded (serve, SQLite)",
            "production": "Qingquan production (PG, 2 web + 1 worker, Redis)",
            "production-gthread": "Qingquan production, gunicorn gthread 2×8 (WSGI)",
        }[shape.name]
        endpoints[shape.name] = [
            (
                Row(label, "POST /api/partner/v1/cases", shape=shape.family),
                shape.partner_target(),
            ),
            (
                Row(label, "POST /open311/v2/requests.json", shape=shape.family),
                shape.open311_target(),
            ),
        ]
        if shape.name != "production-gthread":
            floor = Row(label, "the same POST refused at authentication (floor)", floor=True)
            endpoints[shape.name].append((floor, shape.floor_target()))
            floors[shape.family] = floor
        rows += [r for r, _t in endpoints[shape.name]]
        if shape.family in limits:
            continue
        driver = "sqlite3" if shape.name == "embedded" else "psycopg"
        limits[shape.name] = Row(f"physical limit ({driver})", f"{ctx.connections} client threads")
        # For information (no target): the same rows less those every case updates.
        unshared[shape.name] = Row(
            f"physical limit ({driver}), no shared rows", f"{ctx.connections} client threads"
        )
    if peer is not None:
        # Held idle between its windows (nginx + 4 php-fpm children), as a deployment would.
        peer_target = Target(
            label="osTicket",
            url=peer.base_url,
            path="/api/tickets.json",
            headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
            body=json.dumps(
                {
                    "name": "基准来电人",
                    "email": "{u}@bench.example.com",
                    "phone": "{phone}",
                    "subject": "基准受理 {u}",
                    "message": "data:text/plain,海曙区基准路停水，请尽快处理 {u}",
                    "ip": "127.0.0.1",
                },
                ensure_ascii=False,
            ),
            id_pattern="^%s*(%d+)%s*$",
        )
        run_wrk(peer_target, run="warm", work=work / "load", connections=ctx.connections, seconds=1)

    loads: list[float] = []
    # py-spy samples each shape's web processes in a partner API window after the rounds
    # (the bench extra's py-spy; needs ptrace, i.e. root) when a target is missed, so that
    # the table comes with what is left and why; QINGQUAN_BENCH_PEER_PROFILE=1 always,
    # =0 never.
    profile_setting = os.environ.get("QINGQUAN_BENCH_PEER_PROFILE", "")
    profiles: dict[str, Path] = {}
    questions = 0
    peer_tickets = 0
    stamp = time.strftime("%H%M%S")
    try:
        for n in range(ctx.rounds):
            print(f"peer: round {n + 1} of {ctx.rounds}", file=sys.stderr, flush=True)
            if peer is not None and peer_row is not None:
                q0, before = peer.questions(), peer.last_ticket_id()
                _measure(
                    peer_row,
                    peer_target,
                    run=f"o{stamp}r{n}",
                    work=work,
                    ctx=ctx,
                    last_id=peer.last_ticket_id,
                    written_after=peer.tickets_after,
                    loads=loads,
                )
                questions += peer.questions() - q0
                peer_tickets += len(peer.tickets_after(before))
            for shape in shapes:
                shape_rows = endpoints[shape.name]
                cold = shape.start()
                try:
                    for row, target in shape_rows:
                        row.cold_ms.append(cold)
                        shape.warm(target, ctx.connections)
                        _measure(
                            row,
                            target,
                            run=f"{shape.name[0]}{len(shape.name)}{stamp}r{n}{row.endpoint[6]}",
                            work=work,
                            ctx=ctx,
                            last_id=shape.last_ticket_id,
                            written_after=shape.tickets_after,
                            loads=loads,
                        )
                finally:
                    shape.stop()
                if shape.name in limits:  # one limit per database family
                    _limit(limits[shape.name], shape, ctx)
                    _limit(unshared[shape.name], shape, ctx, shared=False)
        if profile_setting == "1" or (
            profile_setting != "0" and _targets_missed(rows, peer_row, limits)
        ):
            for shape in shapes:
                profiles[shape.name] = _profile(shape, work, ctx)
        if peer_row is not None and peer_tickets:
            peer_row.statements = questions / peer_tickets
        for shape in shapes:
            if shape.name != "production":
                continue
            for row, target in endpoints["production"]:
                if row.floor:
                    continue
                row.statements, row.statements_note = _count_postgres_statements(shape, target, 100)
                if row.statements != row.statements:  # NaN: not counted
                    notes.append(f"SQL count: {row.statements_note}")
                    row.statements = None
                else:
                    notes.append(f"{row.endpoint} SQL/ticket: {row.statements_note}")
    finally:
        if peer is not None:
            peer.stop()
        for shape in shapes:
            shape.stop()

    all_rows = rows + list(limits.values()) + list(unshared.values())
    load = statistics.mean(loads) if loads else _loadavg()
    header = (
        f"{ctx.rounds} rounds × {ctx.duration:g} s per system, {ctx.connections} connections; "
        f"mean 1-min load average during the windows {load:.1f} "
        f"on {os.cpu_count()} CPUs. " + " ".join(notes)
    )
    print("\n" + header + "\n" + format_rows(all_rows, peer_row, limits) + "\n", file=sys.stderr)
    print(floor_summary(rows, floors, peer_row, limits) + "\n", file=sys.stderr)
    for name, raw in profiles.items():
        if raw.exists():
            print(f"profile of the {name} web processes ({raw}):", file=sys.stderr)
            print(profile_summary(raw) + "\n", file=sys.stderr)
    table = format_rows(all_rows, peer_row, limits)
    figures = _figures(rows, peer_row, limits, header + "\n" + table, load)
    figures += [
        Figure(
            name=f"peer: Qingquan {family}, the stack's floor (POST refused at authentication)",
            value=row.tps,
            unit="answers/s",
            note=f"p50 {_ms(row.p50)}, p99 {_ms(row.p99)}; nothing written",
        )
        for family, row in floors.items()
        if row.per_second
    ]
    figures += [
        Figure(
            name=f"peer: physical limit, {name} database, no shared rows",
            value=row.tps,
            unit="cases/s",
            note="without the day's counter and the daily counts (rows every case updates)",
        )
        for name, row in unshared.items()
        if row.per_second
    ]
    return figures
