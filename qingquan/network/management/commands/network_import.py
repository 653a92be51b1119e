"""Import (or re-import) the pipe network from an EPANET input file through WNTR.

    qingquan manage network_import Net6.inp --place-at 121.55,29.875 --extent-km 12 \\
        --valves strategic
    qingquan manage network_import city.inp --control-points points.csv --valve-csv valves.csv
    qingquan manage network_import revised.inp            # WGS84 coordinates already

Elements are matched by their ids: the report lists what was added, changed and removed,
and where the valves came from. A refused file prints each problem with its line and
section; nothing is written (exit status 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qingquan.core.actors import system
from qingquan.network.inp import ImportRefused
from qingquan.network.services import network_import


def _lon_lat(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise CommandError(f"--place-at wants LON,LAT (e.g. 121.55,29.87), not {text!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CommandError(f"--place-at {text}: not a longitude,latitude")
    return lon, lat


class Command(BaseCommand):
    help = "Import the pipe network from an EPANET .inp file (WNTR), placed over Ningbo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, metavar="FILE.inp")
        place = parser.add_argument_group("placement (without one: coordinates are WGS84)")
        place.add_argument("--place-at", metavar="LON,LAT", help="centre of the drawing")
        place.add_argument("--extent-km", type=float, help="the drawing's longer side, km")
        place.add_argument("--metres-per-unit", type=float, help="scale of the drawing")
        place.add_argument(
            "--control-points", type=Path, metavar="CSV", help="rows x,y,lon,lat (2 or more)"
        )
        valves = parser.add_argument_group("valves")
        valves.add_argument(
            "--valves",
            choices=["auto", "file", "csv", "strategic"],
            default="auto",
            help="auto: the CSV if given, else the file's valves, else WNTR's strategic layer",
        )
        valves.add_argument(
            "--valve-csv", type=Path, metavar="CSV", help="rows id,link,node[,state]"
        )
        valves.add_argument(
            "--valves-per-node", type=int, default=1, help="strategic layer: 1 = N-1, 2 = N …"
        )
        valves.add_argument("--seed", type=int, default=0, help="strategic layer's random seed")
        parser.add_argument(
            "--allow-disconnected",
            action="store_true",
            help="import parts that no tank or reservoir feeds",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no file {path}")
        place_at = _lon_lat(options["place_at"]) if options["place_at"] else None
        valves = (
            "csv" if options["valve_csv"] and options["valves"] == "auto" else options["valves"]
        )
        try:
            report = network_import(
                actor=system("import"),
                path=path,
                place_at=place_at,
                extent_km=options["extent_km"],
                metres_per_unit=options["metres_per_unit"],
                control_points=options["control_points"],
                valves=valves,
                valve_csv=options["valve_csv"],
                per_node=options["valves_per_node"],
                seed=options["seed"],
                allow_disconnected=options["allow_disconnected"],
                dry_run=options["dry_run"],
            )
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stdout.write(f"{path.name}: {problem}")
            self.stdout.write(f"{len(refused.problems)} problem(s); nothing was written.")
            sys.exit(1)
        for line in report.lines():
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write("dry run: nothing was written.")
