"""Locks that serialise transactions on a key, whatever the database.

A domain service that must not run twice at once for the same thing (one partner's
external id, …) calls `hold_until_commit` before it looks the thing up.
"""

from __future__ import annotations

from django.db import connection


def hold_until_commit(namespace: int, text: str) -> None:
    """Hold a lock on (`namespace`, `text`) until the current transaction ends; a
    concurrent transaction asking for the same waits here. PostgreSQL: an advisory
    transaction lock (`pg_advisory_xact_lock(namespace, hashtext(text))`). SQLite: nothing
    to take, the writing transaction holds the database's one write lock."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [namespace, text])
