"""Moved to `qingquan.core.db.fastinsert` (issue #15): this name stays only until the
partners' services import it from there; do not use it in new code."""

from qingquan.core.db.fastinsert import create, insert, saved

__all__ = ["create", "insert", "saved"]
