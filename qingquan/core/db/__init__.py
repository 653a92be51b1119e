"""Database-specific code: the one place that knows which database it runs on.

Qingquan runs on SQLite (the embedded default) and PostgreSQL (production). Where the two
need different SQL, or where a speed-up only exists on one of them, the code lives here,
behind small functions named for what they do; domain code calls them and never branches
on ``connection.vendor`` itself (docs/architecture.md, "Database-specific code").

- `core.db.bulk`: many rows at once (COPY on PostgreSQL, the driver's executemany on
  SQLite);
- `core.db.fastinsert`: one precompiled INSERT for append-only rows nothing listens to;
- `core.db.claims`: rows claimed by the UPDATE (or DELETE) that takes them, skipping the
  rows another transaction holds where the database can;
- `core.db.counters`: adding to a counter row, created when missing (one upsert);
- `core.db.sqlite3`: the SQLite backend (``ENGINE = "qingquan.core.db.sqlite3"``) with
  its writer queue and connection pool (decision 0006).

This module itself only answers what a caller must know to choose a strategy, in terms of
behaviour rather than vendor.
"""

from __future__ import annotations

from django.db import connection


def concurrent_writers() -> bool:
    """Whether several transactions of the default database write at once (PostgreSQL).

    True: a row every writer updates (a day's counter) makes them queue behind each other
    until each commits, so such counts are better appended and folded later. False
    (SQLite): one writer at a time anyway, nothing to gain by deferring."""
    return connection.vendor == "postgresql"
