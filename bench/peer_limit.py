"""The physical limit of case intake on this machine: the rows one case creation writes,
written by N client threads with the database driver alone (sqlite3 or psycopg), no
framework, no HTTP. The row set is bench_tickets' bare endpoint's (copied from one case
the service created): the contact with its daily count and audit row, the case number (one
upsert on the day's counter), the case, the contact link, the timeline entry, the day's KPI
count, the case's stored contribution and its audit row, in one transaction. On PostgreSQL
the number comes from the day's sequence and the two daily counts are appended delta rows,
as the platform writes them there (decision 0009).

    python -m bench.peer_limit --sqlite PATH | --postgres URL --template JSON --seconds 10

prints one JSON line: {"cases": n, "seconds": s, "per_second": r, "errors": e}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NUMBER_SQL = (
    "INSERT INTO tickets_daycounter (day, last) VALUES ({p}, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = tickets_daycounter.last + 1 "
    "RETURNING last, (SELECT token FROM tickets_kindsversion WHERE id = 1)"
)


SEQUENCE_SQL = "SELECT nextval(to_regclass(%s))"


class Writer:
    """One client: its own connection, the driver's placeholder style and value forms."""

    def __init__(self, target: str, *, postgres: bool) -> None:
        self.postgres = postgres
        self.p = "%s" if postgres else "?"
        self.statements = 0
        self.conn: Any
        if postgres:
            import psycopg

            self.conn = psycopg.connect(target, autocommit=True)
        else:
            self.conn = sqlite3.connect(target, timeout=20, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")

    def ex(self, sql: str, params: list[Any] | None = None) -> Any:
        """Execute one statement (counted: the script's statements per case)."""
        self.statements += 1
        return self.conn.execute(sql, params or [])

    def row(self, table: str, pk: int) -> dict[str, Any]:
        cursor = self.conn.execute(f"SELECT * FROM {table} WHERE id = {self.p}", [pk])
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))

    def value(self, value: Any) -> Any:
        if self.postgres and isinstance(value, dict | list):
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return value

    def moment(self, now: dt.datetime) -> Any:
        # Django keeps SQLite datetimes as UTC text.
        return now if self.postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def day(self, day: dt.date) -> Any:
        return day if self.postgres else day.isoformat()

    def insert(self, table: str, values: dict[str, Any]) -> int:
        columns = [c for c in values if c != "id"]
        marks = ", ".join([self.p] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING id"
        return int(self.ex(sql, [self.value(values[c]) for c in columns]).fetchone()[0])

    def count(self, table: str, measure: str, keys: dict[str, Any], zeros: list[str]) -> None:
        if self.postgres:
            # As the platform does on PostgreSQL (decision 0009): an appended delta row,
            # folded into the shared row later, outside the request.
            target = "kpi" if table == "reports_kpidaily" else "contact"
            key = [v.isoformat() if isinstance(v, dt.date) else v for v in keys.values()]
            self.ex(
                "INSERT INTO reports_rollupdelta (target, key, counts) VALUES (%s, %s, %s)",
                [target, self.value(key), self.value({measure: 1})],
            )
            return
        where = " AND ".join(f"{k} = {self.p}" for k in keys)
        cursor = self.ex(
            f"UPDATE {table} SET {measure} = {measure} + 1 WHERE {where}", list(keys.values())
        )
        if cursor.rowcount == 0:
            self.insert(table, {**keys, **{m: 0 for m in zeros}, measure: 1})

    def begin(self) -> None:
        self.ex("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.ex("COMMIT")

    def rollback(self) -> None:
        self.ex("ROLLBACK")


def templates(writer: Writer, ids: dict[str, Any]) -> dict[str, Any]:
    contribution = writer.conn.execute(
        f"SELECT rows FROM reports_ticketcontribution WHERE ticket_id = {writer.p}",
        [ids["ticket"]],
    ).fetchone()[0]
    return {
        "ticket": writer.row("tickets_ticket", ids["ticket"]),
        "contact": writer.row("tickets_contact", ids["contact"]),
        "event": writer.row("tickets_ticketevent", ids["event"]),
        "ticket_audit": writer.row("core_auditevent", ids["ticket_audit"]),
        "contact_audit": writer.row("core_auditevent", ids["contact_audit"]),
        "contribution": contribution if isinstance(contribution, str) else json.dumps(contribution),
    }


def create_case(
    writer: Writer, rows: dict[str, Any], ids: dict[str, Any], n: str, *, shared: bool = True
) -> None:
    """One case's rows in one transaction (as bench_tickets' bare endpoint writes them).

    `shared=False` leaves out the rows every case updates (the day's counter, the daily
    contact and KPI counts) and numbers the case from the clock: what the rows alone cost
    once no request waits on another's row lock."""
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(SHANGHAI).date()
    agent = ids["agent"]
    stamp = writer.moment(now)
    actor = {"actor_id": agent, "actor_label": "基准极限"}
    writer.begin()
    try:
        contact_id = writer.insert(
            "tickets_contact", {**rows["contact"], "started_at": stamp, "agent_id": agent}
        )
        if shared:
            writer.count(
                "reports_contactdaily",
                "contacts",
                {"day": writer.day(day), "channel": rows["contact"]["channel"], "agent_id": agent},
                [],
            )
        writer.insert(
            "core_auditevent",
            {**rows["contact_audit"], **actor, "object_id": str(contact_id), "at": stamp},
        )
        if shared and writer.postgres:
            # As the platform does on PostgreSQL (decision 0009): the day's sequence.
            last = writer.ex(SEQUENCE_SQL, [f"tickets_number_{day:%Y%m%d}"]).fetchone()[0]
            if last is None:
                last = writer.ex(NUMBER_SQL.format(p=writer.p), [writer.day(day)]).fetchone()[0]
            number = f"{day:%Y%m%d}-{last:04d}"
        elif shared:
            last = writer.ex(NUMBER_SQL.format(p=writer.p), [writer.day(day)]).fetchone()[0]
            number = f"{day:%Y%m%d}-{last:04d}"
        else:
            number = f"L{time.time_ns() % 10**13}{threading.get_ident() % 100:02d}"
        ticket_id = writer.insert(
            "tickets_ticket",
            {
                **rows["ticket"],
                "number": number,
                "subject": f"基准极限 {n}",
                "owner_id": agent,
                "created_by_id": agent,
                "created_at": stamp,
                "updated_at": stamp,
                "sla_started_at": stamp,
            },
        )
        writer.ex(
            "INSERT INTO tickets_contact_tickets (contact_id, ticket_id) "
            f"VALUES ({writer.p}, {writer.p})",
            [contact_id, ticket_id],
        )
        writer.insert(
            "tickets_ticketevent",
            {**rows["event"], "actor_id": agent, "ticket_id": ticket_id, "at": stamp},
        )
        if shared:
            writer.count(
                "reports_kpidaily",
                "created",
                {
                    "day": writer.day(day),
                    "kind": ids["kind_code"],
                    "district": "",
                    "channel": rows["ticket"]["channel"],
                    "owner_id": agent,
                    "department_id": 0,
                },
                ids["measures"],
            )
        writer.ex(
            f"INSERT INTO reports_ticketcontribution (ticket_id, rows) VALUES ({writer.p}, "
            f"{writer.p})",
            [ticket_id, rows["contribution"]],
        )
        writer.insert(
            "core_auditevent",
            {**rows["ticket_audit"], **actor, "object_id": str(ticket_id), "at": stamp},
        )
        writer.commit()
    except Exception:
        writer.rollback()
        raise


def run(
    connect: Callable[[], Writer],
    ids: dict[str, Any],
    clients: int,
    seconds: float,
    *,
    shared: bool = True,
) -> dict[str, Any]:
    done = [0] * clients
    errors = [0] * clients
    statements = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        writer = connect()
        rows = templates(writer, ids)
        start.wait()
        writer.statements = 0
        n = 0
        while time.monotonic() < deadline[0]:
            n += 1
            try:
                create_case(writer, rows, ids, f"{i}-{n}-{time.time_ns()}", shared=shared)
                done[i] += 1
            except Exception as error:
                errors[i] += 1
                if errors[i] == 1:
                    print(f"limit client {i}: {error!r}", file=sys.stderr)
        statements[i] = writer.statements

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {
        "cases": sum(done),
        "seconds": elapsed,
        "per_second": sum(done) / elapsed,
        "errors": sum(errors),
        "statements_per_case": sum(statements) / max(1, sum(done)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite")
    where.add_argument("--postgres")
    parser.add_argument("--template", required=True, help="JSON of the template rows' ids")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--no-shared-rows",
        action="store_true",
        help="leave out the rows every case updates (day counter, daily counts)",
    )
    args = parser.parse_args()
    ids = json.loads(args.template)
    target = args.postgres or args.sqlite
    result = run(
        lambda: Writer(target, postgres=bool(args.postgres)),
        ids,
        args.clients,
        args.seconds,
        shared=not args.no_shared_rows,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
