"""CSV import: every bad row reported with row, column and reason; any error or a dry run
writes nothing; a clean import goes through the services; export reads back the same."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qingquan.core.models import AuditEvent
from qingquan.customers.imports import import_files
from qingquan.customers.models import Account, Bill, Customer, MeterReading, Payment, Premise
from qingquan.customers.tariffs import tariffs_seed

pytestmark = pytest.mark.django_db


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    from qingquan.areas.services import areas_seed_ningbo

    areas_seed_ningbo()
    tariffs_seed()
    return {
        "customers": write(tmp_path / "c.csv", [
            ["ref", "kind", "name", "uscc", "id_number", "phones", "elderly_or_impaired"],
            ["C1", "person", "赵丽华", "", "", "13800001111;0574-87001122", "是"],
            ["C2", "organisation", "宁波甬江纸业有限公司", "91110000600037341L", "", "", ""],
        ]),
        "premises": write(tmp_path / "p.csv", [
            ["ref", "district", "street", "road", "room", "latitude", "longitude"],
            ["P1", "海曙区", "南门街道", "解放南路1号", "101", "29.86", "121.55"],
            ["P2", "鄞州区", "", "天童南路8号", "", "", ""],
        ]),
        "accounts": write(tmp_path / "a.csv", [
            ["number", "customer_ref", "premise_ref", "kind", "household_size", "opened_on"],
            ["3309000001", "C1", "P1", "residential", "3", "2023-01-01"],
            ["3309000002", "C2", "P2", "non_residential", "1", "2023-01-01"],
        ]),
        "meters": write(tmp_path / "m.csv", [
            ["serial", "account", "size_mm", "installed_on", "initial_reading"],
            ["IM-1", "3309000001", "15", "2023-01-01", "0"],
            ["IM-2", "3309000002", "40", "2023-01-01", "100"],
        ]),
        "readings": write(tmp_path / "r.csv", [
            ["meter", "read_on", "value", "source"],
            ["IM-1", "2023-01-31", "20", "manual"],
            ["IM-2", "2023-01-31", "150", "remote"],
        ]),
        "bills": write(tmp_path / "b.csv", [
            ["account", "period_start", "period_end", "total", "paid"],
            ["3309000001", "2023-01-01", "2023-01-31", "60.00", "60.00"],
            ["3309000002", "2023-01-01", "2023-01-31", "", ""],
        ]),
    }  # fmt: skip


def test_clean_import_writes_through_the_services(files: dict[str, Path]) -> None:
    report = import_files(files)
    assert report.errors == []
    assert report.written
    assert report.rows == {k: 2 for k in files}
    assert Customer.objects.get(legacy_ref="C1").elderly_or_impaired
    assert Customer.objects.get(legacy_ref="C1").phones.count() == 2
    assert Premise.objects.get(legacy_ref="P1").address.endswith("解放南路1号101室")
    # 50 m³ at the flat non-residential price: 50 × (3.85 + 1.40)
    assert Bill.objects.get(account__number="3309000002").total == Decimal("262.50")
    assert Payment.objects.get().amount == 60
    # One audit event per chunk, naming every record it wrote.
    [event] = AuditEvent.objects.filter(action="customers.customer.import")
    assert event.after is not None
    assert event.after["count"] == 2


def test_dry_run_reports_nothing_and_writes_nothing(files: dict[str, Path]) -> None:
    report = import_files(files, dry_run=True)
    assert report.errors == []
    assert not report.written
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="customers.").exists()


def test_every_bad_row_is_reported_and_nothing_is_written(
    files: dict[str, Path], tmp_path: Path
) -> None:
    files["customers"] = write(tmp_path / "c.csv", [
        ["ref", "kind", "name", "uscc", "phones"],
        ["C1", "person", "赵丽华", "", "13800001111"],
        ["C2", "organisation", "宁波甬江纸业有限公司", "91330200BADBADBAD0", ""],
        ["C3", "robot", "R2", "", ""],
        ["C4", "person", "", "", ""],
        ["C5", "person", "钱多多", "", "12345"],
    ])  # fmt: skip
    files["readings"] = write(tmp_path / "r.csv", [
        ["meter", "read_on", "value"],
        ["IM-1", "2023-01-31", "20"],
        ["IM-1", "2023-02-28", "15"],
        ["IM-9", "2023-01-31", "1"],
        ["IM-1", "31/03/2023", "30"],
    ])  # fmt: skip
    report = import_files(files, dry_run=True)
    found = {(e.file, e.row, e.column) for e in report.errors}
    assert ("customers", 3, "uscc") in found
    assert ("customers", 4, "kind") in found
    assert ("customers", 5, "name") in found
    assert ("customers", 6, "number") in found
    assert ("readings", 3, "") in found  # lower than the previous reading
    assert ("readings", 4, "meter") in found
    assert ("readings", 5, "read_on") in found
    # C2's account and meter cannot resolve either: reported, not crashed on.
    assert ("accounts", 3, "customer_ref") in found
    assert not report.written
    assert not Customer.objects.exists()
    assert not MeterReading.objects.exists()
    # Without --dry-run the answer is the same: all or nothing.
    assert import_files(files).errors
    assert not Account.objects.exists()


def test_bad_header_and_wrong_total_are_reported(files: dict[str, Path], tmp_path: Path) -> None:
    files["bills"] = write(tmp_path / "b.csv", [
        ["account", "period_start", "period_end", "total"],
        ["3309000001", "2023-01-01", "2023-01-31", "61.00"],
    ])  # fmt: skip
    report = import_files(files)
    assert [(e.file, e.row, e.column) for e in report.errors] == [("bills", 2, "total")]
    assert "60.00" in report.errors[0].reason
    bad = write(tmp_path / "x.csv", [["name", "colour"], ["a", "b"]])
    report = import_files({"customers": bad})
    assert {e.row for e in report.errors} == {1}


def test_commands_round_trip(files: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    args = [x for kind, path in files.items() for x in (f"--{kind}", str(path))]
    call_command("import_customers", *args, "--dry-run")
    assert "dry run" in capsys.readouterr().out
    call_command("import_customers", *args)
    assert Customer.objects.count() == 2
    with pytest.raises(SystemExit) as exit_:
        call_command("import_customers", *args)  # same refs again: every row refused
    assert exit_.value.code == 1
    assert "already imported" in capsys.readouterr().out
    out = tmp_path / "export"
    call_command("export_customers", "--out", str(out))
    rows = list(csv.reader((out / "customers.csv").open(encoding="utf-8")))
    assert rows[1][:3] == ["C1", "person", "赵丽华"]
    bills = list(csv.reader((out / "bills.csv").open(encoding="utf-8")))
    assert bills[1] == ["3309000001", "2023-01-01", "2023-01-31", "60.00", "60.00"]


@pytest.mark.parametrize("chunk_rows", [1, 2000])
def test_duplicates_in_the_file_and_in_the_registry_are_reported(
    files: dict[str, Path], tmp_path: Path, monkeypatch: Any, chunk_rows: int
) -> None:
    from qingquan.customers.imports import run as importer

    # Chunks of one row: a duplicate of an earlier chunk is found in the database.
    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    f = f"{tmp_path}/"
    files["customers"] = write(Path(f + "c.csv"), [
        ["ref", "kind", "name", "uscc", "phones"],
        ["C1", "person", "赵丽华", "", "13800001111"],
        ["C2", "organisation", "宁波甬江纸业有限公司", "91110000600037341L", ""],
        ["C1", "person", "赵丽华", "", ""],
        ["C3", "organisation", "宁波三江食品有限公司", "91110000600037341L", ""],
        ["C4", "person", "钱多多", "", "13800001111;138 0000 1111"],
    ])  # fmt: skip
    files["accounts"] = write(Path(f + "a.csv"), [
        ["number", "customer_ref", "premise_ref"],
        ["3309000001", "C1", "P1"],
        ["3309000001", "C2", "P2"],
        ["3309000002", "C9", "P2"],
        ["33090A0003", "C2", "P2"],
    ])  # fmt: skip
    files["meters"] = write(Path(f + "m.csv"), [
        ["serial", "account", "installed_on"],
        ["IM-1", "3309000001", "2023-01-01"],
        ["IM-2", "3309000001", "2023-01-01"],
        ["IM-1", "3309000009", "2023-01-01"],
    ])  # fmt: skip
    del files["readings"], files["bills"]
    report = import_files(files, dry_run=True)
    found = {(e.file, e.row, e.column) for e in report.errors}
    assert found == {
        ("customers", 4, "ref"),
        ("customers", 5, "uscc"),
        ("customers", 6, "number"),  # the same number twice for one customer
        ("accounts", 3, "number"),
        ("accounts", 4, "customer_ref"),
        ("accounts", 5, "number"),  # digits only
        ("meters", 3, ""),  # a second meter installed on 3309000001
        ("meters", 4, "account"),
    }
    assert not Customer.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_every_registry_lookup_of_an_import_uses_an_index(files: dict[str, Path]) -> None:
    """On a city of a million customers a scan costs seconds per chunk: each query the
    import reads the registry with must be answered from an index (e.g. the partial unique
    index on USCC, which SQLite uses only for a condition worded like the index's)."""
    with CaptureQueriesContext(connection) as queries:
        assert import_files(files, dry_run=True).errors == []
    registry = ("customers_customer", "customers_premise", "customers_account", "customers_meter")
    looked_up = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert any('"uscc" IN' in sql for sql in looked_up)
    with connection.cursor() as cursor:
        for sql in looked_up:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            scans = [row[-1] for row in cursor.fetchall() if row[-1].startswith("SCAN ")]
            assert not [s for s in scans if s.split()[1] in registry], (sql[:120], scans)
