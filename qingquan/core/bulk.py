"""Moved to `qingquan.core.db.bulk` (issue #15): this name stays only until the modules
of the customers' import and generator import it from there; do not use it in new code."""

from qingquan.core.db.bulk import write_rows

__all__ = ["write_rows"]
