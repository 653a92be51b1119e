"""On PostgreSQL, trigram indexes so "part of an address" and "part of a name" lookups stay
fast at a million premises (LIKE '%…%' cannot use a b-tree). Skipped, with a warning, where
the pg_trgm extension cannot be created; SQLite has no such index and scans."""

import logging

from django.db import migrations, transaction

log = logging.getLogger("qingquan.customers")

INDEXES = [
    ("customers_premise_address_trgm", "customers_premise", "address"),
    ("customers_customer_name_trgm", "customers_customer", "name"),
]


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # no rights to create extensions: searches still work, slower
        log.warning("pg_trgm unavailable (%s); address search will scan", exc)
        return
    with connection.cursor() as cursor:
        for name, table, column in INDEXES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_legacy_ref")]

    operations = [migrations.RunPython(create, drop)]
