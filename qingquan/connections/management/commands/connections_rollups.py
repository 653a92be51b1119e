"""Prove the connections report's monthly rollups equal a recomputation from the raw
applications (exit 1 if not); `--fix` rewrites the rows that differ."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from qingquan.connections import rollup


class Command(BaseCommand):
    help = "Compare the monthly connections rollups with a recomputation from the applications."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="rewrite the rollups if they differ")

    def handle(self, *args: Any, **options: Any) -> None:
        diffs = rollup.consistency_check()
        for diff in diffs[:50]:
            self.stdout.write(diff)
        if not diffs:
            self.stdout.write("connections rollups consistent with the raw rows")
            return
        if options["fix"]:
            fixed = rollup.reconcile()
            self.stdout.write(f"rewrote {fixed} connections rollup rows")
            return
        raise CommandError(f"{len(diffs)} differences between rollups and raw rows")
