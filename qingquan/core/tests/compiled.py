"""Which models' SELECTs the ORM compiles while a test runs a path (issue #12): a hot path
that reads with precompiled statements (`core.db.fastselect`) compiles none for them, and
a test can say so without timing anything."""

from __future__ import annotations

from typing import Any

from django.db.models.sql import compiler as orm

_WRITES = (
    orm.SQLInsertCompiler,
    orm.SQLUpdateCompiler,
    orm.SQLDeleteCompiler,
    orm.SQLAggregateCompiler,
)


def compiled_selects(monkeypatch: Any) -> list[str]:
    """From now until the test ends (or `monkeypatch.undo()`), the label of the model of
    each SELECT the ORM compiles, in order. The backends' compilers (PostgreSQL's)
    subclass the ORM's and call its `as_sql`."""
    compiled: list[str] = []
    real = orm.SQLCompiler.as_sql

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(self, _WRITES) and self.query.model is not None:
            compiled.append(self.query.model._meta.label)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(orm.SQLCompiler, "as_sql", counting)
    return compiled
