"""Importing the registry from CSV files (UTF-8, header row), and exporting it the same way.

Files, each optional, loaded in this order so references resolve:
- customers: ref, kind, name, uscc, id_number, phones (separated by ";"),
  elderly_or_impaired, sensitive
- premises: ref, district, street, community, road, building, unit, room, latitude,
  longitude
- accounts: number, customer_ref, premise_ref, kind, tariff, household_size, opened_on
- meters: serial, account, size_mm, installed_on, initial_reading
- readings: meter, read_on, value, source
- bills: account, period_start, period_end, total (optional: checked against the
  computed total), paid (optional: recorded as a bank payment)

Every row obeys the same rules as a row typed in the back office. The files are read in
chunks of CHUNK_ROWS rows, a row at a time (memory stays flat). For the registry files
(customers, premises, accounts, meters) and readings, a row is checked without building a
model instance: `imports.field_rules` prepares each column's field rules once from the model
fields' metadata (max lengths, ranges, decimal places; a failing value gets the field's
own message), then the model's `clean()` rules are applied in the same order, phones go
through `phones.normalise_fast` (the same answer as `phones.normalise`, without parsing the
common forms), and references and duplicates are looked up once per chunk. Readings are
flagged by `services.reading_flag_reason`, the rule `services.reading_record` applies, from
each meter's last valid reading fetched once per chunk with the chunk's own readings on
top (an out-of-order reading asks for its neighbours). The good rows of a chunk are written
by `services.registry_rows_import`: ids taken in bulk, one COPY (PostgreSQL) or executemany
(SQLite) per table, one audit event per chunk. Bills are issued as `services.bill_issue`
(and `payment_record` for `paid`) would issue them in file order: the chunk's accounts,
bills of the years concerned, meters and valid readings are fetched once, the meters'
spans and the year's volume come from the service's own pure rules over them
(`services.meter_spans_of`, `services.annual_volume_of`), each bill is priced by
`billing.bill_compute` (memoised on identical inputs) and joins its account's bills in
memory, so later rows see it (overlaps, annual tier volume); they are written by
`services.bills_import`.

The whole import is one transaction: every bad row is reported with its row number,
column and reason, and if there was any, nothing is written. `dry_run` checks and writes
the same way, then rolls back, so it reports exactly what a real import would.

The package: `rows` (columns, reading and reporting rows, chunk lookups, the rules
prepared once per import), `registry`, `readings` and `bills` (one file kind each, a
chunk at a time), `run` (`import_files`: the files in order, in one transaction) and
`export` (`export_files`). Bulk ids and inserts are `core.db.bulkload`'s.
"""

from __future__ import annotations

from qingquan.customers.imports.export import export_files
from qingquan.customers.imports.rows import COLUMNS, ORDER, REQUIRED, ImportReport, RowError
from qingquan.customers.imports.run import import_files

__all__ = [
    "COLUMNS",
    "ORDER",
    "REQUIRED",
    "ImportReport",
    "RowError",
    "export_files",
    "import_files",
]
