"""Import the customer registry from CSV files; see qingquan.customers.imports.

    manage.py import_customers --customers c.csv --premises p.csv --accounts a.csv \\
        --meters m.csv --readings r.csv --bills b.csv [--dry-run]

Exit status 1 when any row is bad (and nothing was written), 0 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from qingquan.customers.imports import ORDER, import_files


class Command(BaseCommand):
    help = "Import customers, premises, accounts, meters, readings and bills from CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        for kind in ORDER:
            parser.add_argument(f"--{kind}", type=Path, metavar="CSV")
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row, report, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = {kind: options[kind] for kind in ORDER if options.get(kind)}
        if not files:
            raise CommandError("give at least one file, e.g. --customers customers.csv")
        for kind, path in files.items():
            if not path.is_file():
                raise CommandError(f"--{kind}: no file {path}")

        def progress(kind: str, count: int) -> None:
            sys.stderr.write(f"\r{kind}: {count:,} rows")
            sys.stderr.flush()

        report = import_files(files, dry_run=options["dry_run"], progress=progress)
        sys.stderr.write("\n")
        for error in report.errors:
            self.stdout.write(str(error))
        summary = ", ".join(f"{kind} {n:,}" for kind, n in report.rows.items())
        if report.errors:
            self.stdout.write(f"{len(report.errors)} bad row(s); nothing was written ({summary}).")
            sys.exit(1)
        verb = "written" if report.written else "checked (dry run, nothing written)"
        self.stdout.write(f"All rows {verb}: {summary}.")
