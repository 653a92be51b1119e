"""`manage.py access_matrix`: the role × URL table of who sees which personal data where,
measured on a throw-away test database (docs/access-matrix.md)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import setup_test_environment, teardown_test_environment

from qingquan.core import exposure


class Command(BaseCommand):
    help = (
        "Request every URL pattern as every role on a temporary database seeded with known "
        "personal data, and write the role × URL table (masked / full / forbidden …)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--output", default="docs/access-matrix.md", help="file to write ('-' for stdout)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Thousands of refused requests are the point here, not news for the log.
        logging.disable(logging.WARNING)
        setup_test_environment()
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            seeded = exposure.seed()
            results, unresolved = exposure.request_all(seeded)
            table = exposure.markdown(results, unresolved)
            problems = exposure.violations(results, seeded)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()
            logging.disable(logging.NOTSET)
        if options["output"] == "-":
            self.stdout.write(table)
        else:
            Path(options["output"]).write_text(table, encoding="utf-8")
            self.stdout.write(f"{options['output']}: {len(results)} answers")
        if problems:
            raise CommandError(
                "personal data reached roles without the right:\n" + "\n".join(problems)
            )
