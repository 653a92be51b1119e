"""Database functions whose SQL differs by database."""

from __future__ import annotations

from typing import Any

from django.db.models import DateField, Func


class ShanghaiDate(Func):
    """The Asia/Shanghai calendar day of a stored instant, computed by the database itself
    (Django's TruncDate calls back into Python for every row on SQLite)."""

    output_field = DateField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores instants on SQLite as UTC text; China has kept UTC+8, without
        # daylight saving, since 1991.
        return self.as_sql(compiler, connection, template="date(%(expressions)s, '+8 hours')")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s AT TIME ZONE 'Asia/Shanghai')::date"
        )
