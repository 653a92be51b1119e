"""A small hand-made network whose isolation answers are known by hand.

    R1 ─P1─ J1 ─P2─ J2 ─P3─ J3 ─P4─ J4          valves: VA on P2 at J1, VB on P3 at J2,
                    │        │                          VC on P3 at J3, VD on P4 at J3,
                    P5       P7                         VE on P5 at J2
                    │        │                  (with_tank: T1 ─P8─ J6, VF on P8 at J6)
                    J5 ─P6─ J6 (─P8─ T1)

Segments: {P1 R1 J1}, {P2 J2}, {P3}, {P4 J4}, {P5 P6 P7 J5 J6 J3} (+ {P8 T1}).
"""

from __future__ import annotations

from pathlib import Path

NODES = {
    "R1": (0, 0),
    "J1": (1, 0),
    "J2": (2, 0),
    "J3": (3, 0),
    "J4": (4, 0),
    "J5": (2, 1),
    "J6": (3, 1),
    "T1": (4, 1),
}
PIPES = {
    "P1": ("R1", "J1"),
    "P2": ("J1", "J2"),
    "P3": ("J2", "J3"),
    "P4": ("J3", "J4"),
    "P5": ("J2", "J5"),
    "P6": ("J5", "J6"),
    "P7": ("J6", "J3"),
    "P8": ("T1", "J6"),
}
VALVES = [
    ("VA", "P2", "J1"),
    ("VB", "P3", "J2"),
    ("VC", "P3", "J3"),
    ("VD", "P4", "J3"),
    ("VE", "P5", "J2"),
    ("VF", "P8", "J6"),
]


def lon_lat(x: float, y: float) -> tuple[float, float]:
    return round(121.55 + x * 0.001, 6), round(29.87 + y * 0.001, 6)


def inp_text(
    *,
    with_tank: bool = False,
    lengths: dict[str, float] | None = None,
    diameters: dict[str, float] | None = None,
    demands: dict[str, float] | None = None,
) -> str:
    lengths, diameters, demands = lengths or {}, diameters or {}, demands or {}
    nodes = [n for n in NODES if with_tank or n != "T1"]
    pipes = [p for p in PIPES if with_tank or p != "P8"]
    lines = ["[TITLE]", "hand-made test network", "", "[JUNCTIONS]", ";ID elev demand"]
    lines += [f" {n} 10 {demands.get(n, 1)}" for n in nodes if n.startswith("J")]
    lines += ["", "[RESERVOIRS]", " R1 50", ""]
    if with_tank:
        lines += ["[TANKS]", " T1 30 5 0 10 20 0", ""]
    lines += ["[PIPES]", ";ID n1 n2 length diam rough minor status"]
    for p in pipes:
        a, b = PIPES[p]
        diameter = diameters.get(p, 300 if p in ("P1", "P2") else 150)
        lines.append(f" {p} {a} {b} {lengths.get(p, 100)} {diameter} 100 0 Open")
    lines += ["", "[OPTIONS]", " Units LPS", " Headloss H-W", "", "[COORDINATES]"]
    for n in nodes:
        lon, lat = lon_lat(*NODES[n])
        lines.append(f" {n} {lon} {lat}")
    lines += ["", "[END]", ""]
    return "\n".join(lines)


def valve_csv(*, with_tank: bool = False, states: dict[str, str] | None = None) -> str:
    states = states or {}
    rows = ["id,link,node,state"]
    for eid, link, node in VALVES:
        if link == "P8" and not with_tank:
            continue
        rows.append(f"{eid},{link},{node},{states.get(eid, 'open')}")
    return "\n".join(rows) + "\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def import_small(
    folder: Path,
    *,
    with_tank: bool = False,
    states: dict[str, str] | None = None,
    lengths: dict[str, float] | None = None,
    diameters: dict[str, float] | None = None,
    demands: dict[str, float] | None = None,
) -> object:
    from qingquan.core.actors import system
    from qingquan.network.services import network_import

    text = inp_text(with_tank=with_tank, lengths=lengths, diameters=diameters, demands=demands)
    net = write(folder, "small.inp", text)
    valves = write(folder, "valves.csv", valve_csv(with_tank=with_tank, states=states))
    return network_import(actor=system("import"), path=net, valves="csv", valve_csv=valves)
