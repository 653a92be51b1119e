"""`network_import`: a good file, refused files (named by line and section, nothing
written), a re-import's report, placement over Ningbo and the three valve sources."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from qingquan.core.actors import system
from qingquan.core.models import AuditEvent
from qingquan.network.inp import ImportRefused
from qingquan.network.models import NetworkImport, Node, Pipe, PressureZone, Valve
from qingquan.network.services import network_import
from qingquan.network.tests.helpers import import_small, inp_text, valve_csv, write

pytestmark = pytest.mark.django_db


def _import(path, **kwargs):
    return network_import(actor=system("import"), path=path, **kwargs)


def test_a_good_file_with_a_valve_layer(tmp_path):
    report = import_small(tmp_path)
    assert Node.objects.count() == 7 and Pipe.objects.count() == 7
    assert Valve.objects.count() == 5 and report.valve_source == "csv"
    p1 = Pipe.objects.get(eid="P1")
    assert (p1.diameter_mm, p1.length_m, p1.start.eid, p1.end.eid) == (300.0, 100.0, "R1", "J1")
    assert Node.objects.get(eid="R1").kind == "reservoir"
    assert PressureZone.objects.count() == 1
    va = Valve.objects.get(eid="VA")
    # Drawn on P2 a few metres from J1.
    assert 121.551 < va.longitude < 121.5512 and va.latitude == pytest.approx(29.87)
    assert sorted(report.added["valves"]) == ["VA", "VB", "VC", "VD", "VE"]
    record = NetworkImport.objects.get()
    assert AuditEvent.objects.filter(action="network.networkimport.create").count() == 1
    assert "valves from: csv" in record.report


def _refused(path, **kwargs) -> list[str]:
    with pytest.raises(ImportRefused) as refused:
        _import(path, **kwargs)
    assert not Node.objects.exists() and not NetworkImport.objects.exists()
    return [str(p) for p in refused.value.problems]


def test_malformed_files_are_refused_by_line_and_section(tmp_path):
    text = inp_text()
    lines = text.splitlines()
    at = lines.index(" P3 J2 J3 100 150 100 0 Open")
    bad = [*lines]
    bad[at] = " P3 J2 J9 100 150 100 0 Open"
    bad.insert(at + 1, " P2 J1 J2 100 abc 100 0 Open")
    bad.insert(3, "[JUNKTIONS]")
    problems = _refused(write(tmp_path, "bad.inp", "\n".join(bad)))
    assert "line 4, [JUNKTIONS]: unknown section [JUNKTIONS]" in problems
    assert f"line {at + 2}, [PIPES]: unknown node J9" in problems
    assert f"line {at + 3}, [PIPES]: 'abc' is not a number" in problems
    assert any(p.startswith(f"line {at + 3}, [PIPES]: duplicate link id P2") for p in problems)


def test_nodes_without_coordinates_and_disconnected_parts_are_named(tmp_path):
    text = inp_text().replace(" J4 121.554 29.87\n", "")
    assert any("node J4 has no coordinates" in p for p in _refused(write(tmp_path, "a.inp", text)))
    island = inp_text().replace("[RESERVOIRS]", " J8 10 1\n J9 10 1\n\n[RESERVOIRS]")
    island = island.replace("[OPTIONS]", " P9 J8 J9 50 100 100 0 Open\n\n[OPTIONS]")
    island = island.replace("[END]", " J8 121.56 29.88\n J9 121.561 29.88\n\n[END]")
    island = island.replace("\n\n J8 121.56", "\n J8 121.56")
    problems = _refused(write(tmp_path, "b.inp", island))
    assert problems == ["a part of 2 nodes not connected to any source: J8, J9"]


def test_a_bad_valve_layer_names_its_lines(tmp_path):
    net = write(tmp_path, "n.inp", inp_text())
    csv = write(tmp_path, "v.csv", "id,link,node\nVA,P2,J1\nVA,P3,J2\nVX,P9,J1\nVY,P4,J1\n")
    problems = _refused(net, valves="csv", valve_csv=csv)
    assert problems == [
        "line 3, valve layer: duplicate valve id VA (first at line 2)",
        "line 4, valve layer: unknown link 'P9'",
        "line 5, valve layer: node 'J1' is not an end of link P4",
    ]


def test_reimport_updates_by_id_and_reports_the_difference(tmp_path):
    import_small(tmp_path)
    first = Pipe.objects.get(eid="P4").pk
    text = inp_text(lengths={"P4": 250})
    text = text.replace(" P7 J6 J3 100 150 100 0 Open", " P9 J6 J3 120 150 100 0 Open")
    net = write(tmp_path, "small.inp", text)
    csv = write(
        tmp_path, "valves.csv", valve_csv(states={"VD": "inoperable"}).replace("VE,", "VG,")
    )
    report = _import(net, valves="csv", valve_csv=csv)
    assert (report.added["pipes"], report.changed["pipes"], report.removed["pipes"]) == (
        ["P9"],
        ["P4"],
        ["P7"],
    )
    assert report.added["valves"] == ["VG"] and report.removed["valves"] == ["VE"]
    assert report.changed["valves"] == ["VD"]
    assert not report.added["nodes"] and not report.removed["nodes"]
    p4 = Pipe.objects.get(eid="P4")
    assert p4.pk == first and p4.length_m == 250
    lines = report.lines()
    assert "added pipes: 1: P9" in lines and "removed pipes: 1: P7" in lines
    # The same file again: nothing to report.
    again = _import(net, valves="csv", valve_csv=csv)
    assert not any(again.added.values()) and not any(again.changed.values())
    assert not any(again.removed.values())


def test_placement_and_the_strategic_valve_layer(tmp_path):
    # Coordinates in metres (a drawing): refused without a placement …
    drawing = inp_text()
    for lon, x in (("121.55", "0"), ("121.551", "100"), ("121.552", "200"), ("121.553", "300")):
        drawing = drawing.replace(f" {lon} ", f" {x} ")
    drawing = drawing.replace(" 121.554 ", " 400 ").replace(" 29.87\n", " 0\n")
    drawing = drawing.replace(" 29.871\n", " 100\n")
    path = write(tmp_path, "drawing.inp", drawing)
    assert "give --place-at" in _refused(path)[0]
    # … placed with its centre on Tianyi Square, one unit a metre.
    report = _import(path, place_at=(121.5524, 29.8719), metres_per_unit=1.0, valves="strategic")
    j1 = Node.objects.get(eid="J1")
    assert j1.longitude == pytest.approx(121.5524 - 100 / 96_500, abs=2e-5)
    assert report.valve_source == "strategic" and Valve.objects.filter(source="strategic").exists()
    assert "place-at 121.5524,29.8719" in report.placement


def test_the_command_prints_the_report_or_the_problems(tmp_path, capsys):
    net = write(tmp_path, "n.inp", inp_text())
    csv = write(tmp_path, "v.csv", valve_csv())
    call_command("network_import", str(net), "--valve-csv", str(csv))
    out = capsys.readouterr().out
    assert "valves from: csv" in out and "added pipes: 7" in out
    bad = write(tmp_path, "bad.inp", inp_text().replace("[PIPES]", "[PIPEZ]"))
    with pytest.raises(SystemExit):
        call_command("network_import", str(bad))
    out = capsys.readouterr().out
    assert "unknown section [PIPEZ]" in out and "nothing was written" in out
    assert Pipe.objects.count() == 7


def test_a_dry_run_writes_nothing(tmp_path):
    net = write(tmp_path, "n.inp", inp_text())
    report = _import(net, valves="file", dry_run=True)
    assert report.valve_source == "file" and len(report.added["pipes"]) == 7
    assert not Pipe.objects.exists()
