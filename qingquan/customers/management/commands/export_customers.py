"""Export the customer registry as the CSV files import_customers reads:
`manage.py export_customers --out DIR`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from qingquan.customers.imports import export_files


class Command(BaseCommand):
    help = "Export customers, premises, accounts, meters, readings and bills to CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, metavar="DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(kind: str, count: int) -> None:
            sys.stderr.write(f"\r{kind}: {count:,} rows")
            sys.stderr.flush()

        counts = export_files(options["out"], progress=progress)
        sys.stderr.write("\n")
        self.stdout.write(", ".join(f"{kind} {n:,}" for kind, n in counts.items()))
