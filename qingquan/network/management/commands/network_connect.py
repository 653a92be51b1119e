"""Attach premises to their nearest junction, in bulk.

    qingquan manage network_connect                 # every premise, afresh
    qingquan manage network_connect --unattached    # only premises with no junction yet
    qingquan manage network_connect --district 海曙区

A premise saved one by one is attached on save (network/signals.py); bulk imports of
premises (the CSV importer, the generator) write rows without that signal, so run this
after them. Prints how many premises were attached, how many are farther than
NETWORK_CONNECTION_MAX_M from every junction, and how many have no coordinates.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qingquan.network.services import connection_max_m, premises_connect_bulk


class Command(BaseCommand):
    help = "Attach premises to their nearest network junction (after a bulk import)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--unattached", action="store_true", help="only premises with no junction yet"
        )
        parser.add_argument("--district", metavar="NAME", help="only this district's premises")

    def handle(self, *args: Any, **options: Any) -> None:
        from qingquan.areas.models import District
        from qingquan.network.models import Node

        district = None
        if options["district"]:
            district = District.objects.filter(name=options["district"]).first()
            if district is None:
                raise CommandError(f"no district named {options['district']!r}")
        if not Node.objects.exists():
            raise CommandError("no network imported yet: run network_import first")
        began = time.monotonic()
        counts = premises_connect_bulk(unattached=options["unattached"], district=district)
        self.stdout.write(
            f"premises considered: {counts.considered}\n"
            f"attached: {counts.attached}\n"
            f"farther than {connection_max_m():.0f} m from every junction: {counts.too_far}\n"
            f"without coordinates: {counts.no_coordinates}\n"
            f"premises attached in all: {counts.total_attached}\n"
            f"took {time.monotonic() - began:.1f} s"
        )
