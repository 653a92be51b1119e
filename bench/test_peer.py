"""The intake benchmark's own logic (no load, no servers): the wrk script, the checks of
answers against the database, the profile summary, the tarball lookup and the driver-only
writer of the physical limit."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bench import bench_peer, peer_limit, peer_osticket
from bench.peer_load import LoadResult, Target, lua_script


def _result(answers: list[tuple[int, str]]) -> LoadResult:
    return LoadResult(
        requests=len(answers),
        seconds=1.0,
        p50_ms=1.0,
        p99_ms=2.0,
        max_ms=3.0,
        non_2xx=0,
        socket_errors=0,
        timeouts=0,
        answers=answers,
    )


def test_lua_script_makes_every_request_unique_and_sends_the_idempotency_key(
    tmp_path: Path,
) -> None:
    target = Target(
        label="x",
        url="http://127.0.0.1:1",
        path="/api/partner/v1/cases",
        headers={"Authorization": "Bearer k"},
        body='{"subject": "基准 {u}", "external_id": "{u}", "caller_phone": "{phone}"}',
        id_pattern='"number":"([^"]+)"',
        idempotency=True,
    )
    script = lua_script(target, "r1", tmp_path)
    assert 'headers["Idempotency-Key"] = u' in script
    assert 'local u = run .. "-" .. tid .. "-" .. counter' in script
    # The body is the template with the token and the phone spliced in.
    assert '"{\\"subject\\": \\"基准 " .. u .. "\\", \\"external_id\\": \\"" .. u' in script
    assert ".. phone .." in script
    no_key = lua_script(Target(**{**target.__dict__, "idempotency": False}), "r1", tmp_path)
    assert "Idempotency-Key" not in no_key


def test_check_counts_lost_duplicated_and_unanswered_rows() -> None:
    row = bench_peer.Row("s", "e")
    answers = [(201, "N1"), (201, "N2"), (201, "N2"), (201, "N9"), (422, "")]
    written = [
        ("N1", "基准受理 r1-1-1"),
        ("N2", "基准受理 r1-1-2"),
        ("N3", "基准受理 r1-2-1"),
        ("N4", "基准受理 r1-2-1"),
    ]
    bench_peer._check(row, _result(answers), written, "r1")
    assert row.lost == 1  # N9 answered, not in the database
    assert row.duplicated == 2  # N2 answered twice; token r1-2-1 written twice
    assert row.unanswered_written == 2  # N3, N4


def test_check_of_a_clean_round_finds_nothing() -> None:
    row = bench_peer.Row("s", "e")
    bench_peer._check(
        row, _result([(201, "A"), (201, "B")]), [("A", "x r2-1-1"), ("B", "x r2-1-2")], "r2"
    )
    assert (row.lost, row.duplicated, row.unanswered_written) == (0, 0, 0)


def test_profile_summary_counts_inclusive_and_self_samples(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "main (a.py:1);handle (qingquan/b.py:2);save (c.py:3) 6\n"
        "main (a.py:1);handle (qingquan/b.py:2) 2\n"
        "main (a.py:1);idle (d.py:4) 2\n"
    )
    summary = bench_peer.profile_summary(raw)
    assert summary.startswith("10 samples; by layer (where each sample was taken):")
    layers, rest = summary.split("inclusive, the project's frames:")
    assert "  20.0%  the project's own code" in layers
    assert "  80.0%  other (standard library, logging, …)" in layers
    inclusive, own = rest.split("self:")
    assert "main (a.py:1)" not in inclusive  # not the project's
    assert "  80.0%  handle (qingquan/b.py:2)" in inclusive
    assert "  60.0%  save (c.py:3)" in own
    assert "  20.0%  handle (qingquan/b.py:2)" in own


def test_samples_are_put_in_layers_by_their_innermost_file() -> None:
    layer = bench_peer.layer_of
    assert layer("execute (psycopg/cursor.py:97)").startswith("database driver")
    assert layer("execute (django/db/backends/utils.py:105)").startswith("database driver")
    assert layer("as_sql (django/db/models/sql/compiler.py:755)").startswith("ORM")
    assert layer("validate (ninja/operation.py:1)").startswith("API framework")
    assert layer("data_received (uvicorn/protocols/http/x.py:1)").startswith("HTTP server")
    assert layer("process_request (django/middleware/csrf.py:1)").startswith("Django")
    assert layer("intake (qingquan/partners/services/intake.py:1)") == "the project's own code"


def test_a_missed_target_asks_for_the_profile() -> None:
    peer = bench_peer.Row("osTicket", "POST", rounds=[_result([])], per_second=[10.0])
    ours = bench_peer.Row("Qingquan", "POST", shape="embedded", rounds=[_result([])])
    limit = bench_peer.Row("limit", "16", per_second=[100.0])
    ours.per_second = [60.0]  # 6× osTicket (≥ 5×) and 60 % of the limit (≥ 50 %)
    assert not bench_peer._targets_missed([ours], peer, {"embedded": limit})
    ours.per_second = [45.0]  # 4.5×
    assert bench_peer._targets_missed([ours], peer, {"embedded": limit})


def test_tarball_is_taken_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tar = tmp_path / "osticket-1.18.1.tar.xz"
    tar.write_bytes(b"")
    monkeypatch.setenv("QINGQUAN_PEER_TARBALL", str(tar))
    assert peer_osticket.tarball() == tar
    monkeypatch.setenv("QINGQUAN_PEER_TARBALL", str(tmp_path / "missing.tar.xz"))
    with pytest.raises(peer_osticket.Unavailable, match="QINGQUAN_PEER_TARBALL"):
        peer_osticket.tarball()


def test_format_rows_gives_ratios_to_osticket_and_the_limit() -> None:
    peer = bench_peer.Row("osTicket", "POST", rounds=[_result([])], per_second=[10.0])
    ours = bench_peer.Row("Qingquan", "POST", shape="embedded", rounds=[_result([])])
    ours.per_second = [55.0]
    limit = bench_peer.Row("limit", "16", per_second=[110.0])
    table = bench_peer.format_rows([peer, ours, limit], peer, {"embedded": limit})
    line = next(x for x in table.splitlines() if x.startswith("Qingquan"))
    assert "5.50×" in line
    assert "50%" in line
    figures = bench_peer._figures([peer, ours], peer, {"embedded": limit}, "h", 1.0)
    verdicts = {f.name.rsplit(": ", 1)[1]: f.ok for f in figures if f.ok is not None}
    assert verdicts["tickets/s"] is True  # 5.5× ≥ 5× on the embedded shape
    assert verdicts["share of the physical limit"] is True
    assert verdicts["slowest request"] is True


@pytest.mark.django_db(transaction=True)
def test_physical_limit_writes_a_whole_case_with_the_driver_alone(settings: Any) -> None:
    """The limit script's transaction, through sqlite3 or psycopg alone, writes the same
    rows as a case created by the service, with the next number of the day."""
    from django.db import connection

    from bench.bench_tickets import TEMPLATE_SUBJECT, _create_template, _setup
    from qingquan.core.models import AuditEvent
    from qingquan.reports.models import MEASURES
    from qingquan.tickets.models import Ticket, TicketEvent

    agents, kind = _setup()
    _create_template(agents[0], kind)
    ticket = Ticket.objects.get(subject=TEMPLATE_SUBJECT)
    contact = ticket.contacts.get()
    ids = {
        "ticket": ticket.pk,
        "contact": contact.pk,
        "event": TicketEvent.objects.get(ticket=ticket).pk,
        "ticket_audit": AuditEvent.objects.get(action="ticket.create").pk,
        "contact_audit": AuditEvent.objects.get(action="contact.record").pk,
        "kind_code": ticket.kind.top.code,
        "agent": agents[0].pk,
        "measures": list(MEASURES),
    }
    db = connection.settings_dict
    postgres = connection.vendor == "postgresql"
    target = (
        f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        if postgres
        else db["NAME"]
    )
    connection.close()
    writer = peer_limit.Writer(target, postgres=postgres)
    rows = peer_limit.templates(writer, json.loads(json.dumps(ids)))
    audits_before = writer.conn.execute("SELECT COUNT(*) FROM core_auditevent").fetchone()[0]
    peer_limit.create_case(writer, rows, ids, "t-1")
    assert writer.statements == 12  # BEGIN, 10 writes, COMMIT
    number, subject = Ticket.objects.values_list("number", "subject").latest("id")
    links = Ticket.contacts.through.objects.count()
    audits = AuditEvent.objects.count()
    assert subject == "基准极限 t-1"
    assert number.endswith("-0002")
    assert links == 2
    assert audits == audits_before + 2  # the contact's and the case's
    writer.statements = 0
    peer_limit.create_case(writer, rows, ids, "t-2", shared=False)
    assert writer.statements == 9  # no day counter, no daily counts
    number, subject = Ticket.objects.values_list("number", "subject").latest("id")
    assert subject == "基准极限 t-2"
    assert number.startswith("L")
    assert len(number) <= 16


def test_the_floor_counts_refusals_and_no_written_case(tmp_path: Path) -> None:
    floor = bench_peer.Row("Qingquan", "refused (floor)", floor=True)
    result = _result([(401, ""), (401, ""), (401, ""), (500, "")])
    calls = iter([0])

    def measure(written: list[tuple[str, str]]) -> None:
        ctx = SimpleNamespace(connections=16, duration=1.0)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bench_peer, "run_wrk", lambda *a, **k: result)
            patch.setattr(bench_peer.time, "sleep", lambda s: None)
            bench_peer._measure(
                floor,
                cast(Target, None),
                run="r",
                work=tmp_path,
                ctx=cast(Any, ctx),
                last_id=lambda: next(calls, 0),
                written_after=lambda _id: written,
                loads=[],
            )

    measure([])
    assert floor.per_second == [3.0]  # the refusals are its answers
    assert floor.errors == 1  # the one answer that was not a refusal
    assert floor.lost == floor.duplicated == 0
    with pytest.raises(RuntimeError, match="wrote a case"):
        measure([("N1", "x")])


def test_the_floor_summary_says_what_a_case_costs_above_it() -> None:
    case = bench_peer.Row(
        "Qingquan", "POST /api/partner/v1/cases", shape="embedded", rounds=[_result([])]
    )
    case.per_second = [200.0]  # 5 ms a case
    floor = bench_peer.Row(
        "Qingquan", "refused (floor)", floor=True, per_second=[1000.0], rounds=[_result([])]
    )
    text = bench_peer.floor_summary([case, floor], {"embedded": floor})
    assert "embedded: a partner case 5.00 ms, the floor 1.00 ms; 4.00 ms (80%)" in text
    # With the peer and the limit: each target's time per case, and what is left of it.
    peer = bench_peer.Row("osTicket", "POST", per_second=[50.0])
    limit = bench_peer.Row("limit", "16", per_second=[1000.0])  # 1 ms a case
    text = bench_peer.floor_summary([case, floor], {"embedded": floor}, peer, {"embedded": limit})
    # 5× 50/s = 250/s: 4 ms a case, less 1 (floor) and 1 (driver) leaves 2 (now 3).
    assert "5× osTicket = 250/s: 4.00 ms a case" in text
    assert "leave 2.00 ms for the rest (now 3.00 ms)" in text
    # 50 % of 1000/s = 500/s: 2 ms a case, nothing left beside the floor and the driver.
    assert "50% of the physical limit = 500/s: 2.00 ms a case" in text
    assert "leave 0.00 ms for the rest" in text
    table = bench_peer.format_rows([case, floor], None, {})
    floor_line = table.splitlines()[-1]
    assert "0/0" not in floor_line  # no ids to check on a refusal
