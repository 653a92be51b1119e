"""Generate a synthetic city for demos and load tests: `generate_city --accounts 100000`."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from qingquan.customers.generator import generate_city


class Command(BaseCommand):
    help = "Generate customers, accounts, meters, readings, bills and payments in bulk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, required=True)
        parser.add_argument("--months", type=int, default=24)
        parser.add_argument("--seed", type=int, default=96390)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--workers",
            type=int,
            choices=[0, 1],
            default=None,
            help="1: rows made in a child process while this one writes; 0: all in this "
            "process (default: a child from 20,000 accounts on two cores or more)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["accounts"] < 1 or not 0 <= options["months"] <= 120:
            self.stderr.write("--accounts must be positive and --months between 0 and 120")
            sys.exit(2)
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            elapsed = time.perf_counter() - started
            rate = done / elapsed if elapsed else 0
            sys.stderr.write(f"\r{done:,}/{total:,} accounts  {rate:,.0f}/s  {elapsed:,.0f}s")
            sys.stderr.flush()

        result = generate_city(
            accounts=options["accounts"],
            months=options["months"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            progress=progress,
            workers=options["workers"],
        )
        sys.stderr.write("\n")
        self.stdout.write(
            f"{result.accounts:,} accounts, {result.bills:,} bills in {result.seconds:,.1f}s "
            f"({result.accounts / max(result.seconds, 1e-9):,.0f} accounts/s)"
        )
