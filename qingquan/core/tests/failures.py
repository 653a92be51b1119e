"""A test helper: the statements the database refused while a block ran."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def failed_statements() -> Iterator[list[str]]:
    """The SQL of every statement that raised while the block ran, even where a service
    caught the error (a unique violation used as control flow is an ERROR line in
    PostgreSQL's log each time)."""
    failed: list[str] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        try:
            return execute(sql, params, many, context)
        except Exception:
            failed.append(sql)
            raise

    with connection.execute_wrapper(watch):
        yield failed
