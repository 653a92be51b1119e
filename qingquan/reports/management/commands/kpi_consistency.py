"""Prove the KPI rollups equal a recomputation from the raw rows (exit 1 if not)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from qingquan.reports import rollup


class Command(BaseCommand):
    help = "Compare the KPI rollups with a recomputation from cases, callbacks and contacts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="rewrite the rollups if they differ")

    def handle(self, *args: Any, **options: Any) -> None:
        diffs = rollup.consistency_check()
        for diff in diffs[:50]:
            self.stdout.write(str(diff))
        if not diffs:
            self.stdout.write("rollups consistent with the raw rows")
            return
        if options["fix"]:
            fixed = rollup.reconcile()
            self.stdout.write(f"rewrote the rollups ({fixed} differences)")
            return
        raise CommandError(f"{len(diffs)} differences between rollups and raw rows")
