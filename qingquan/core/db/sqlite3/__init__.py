"""SQLite backend whose writers queue on a lock in the process (docs/decisions/0006)."""
