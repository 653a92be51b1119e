"""Django's SQLite backend, with the process's write transactions queued on a lock and
its connections kept for reuse.

SQLite allows one writer at a time. When a second thread meets the database's write lock
SQLite's busy handler sleeps and polls (1, 2, 5 … 100 ms): under 16 agents creating cases
at once, a transaction that would take 2 ms waits tens of milliseconds for its turn. The
threads of one process therefore queue on a `threading.Lock` (woken the moment the writer
commits) before `BEGIN IMMEDIATE`; SQLite's busy timeout still arbitrates between
processes (a separate `worker`).

Under ASGI every request runs in a thread of its own, so Django opens a connection per
request (persistent connections belong to a thread). A new SQLite connection reads the
whole schema again and starts with a cold page cache, which cost more than the case it
then created. Closed connections therefore go back to a small pool of the process (as
Django's own pool does for PostgreSQL) unless a transaction is still open on them.
See docs/decisions/0006-sqlite-writer-queue.md.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_IDLE: dict[str, list[Any]] = {}  # database file → connections ready for reuse
POOL_SIZE = 16


def _writer_lock(name: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    """One database file's transactions in this process take turns on one lock, and its
    closed connections wait in the pool for the next request."""

    # The private methods overridden below are missing from django-stubs: the `ignore`s.
    _holds_writer_lock = False

    @property
    def _file(self) -> str:
        return str(self.settings_dict["NAME"])

    def get_new_connection(self, conn_params: Any) -> Any:
        with _LOCKS_GUARD:
            idle = _IDLE.get(self._file)
            if idle:
                return idle.pop()
        return super().get_new_connection(conn_params)

    def _start_transaction_under_autocommit(self) -> None:
        lock = _writer_lock(self._file)
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not lock.acquire(timeout=timeout):
            raise OperationalError(f"database is locked (waited {timeout:.0f} s for a writer)")
        self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            _writer_lock(self._file).release()

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def _close(self) -> Any:
        try:
            raw = self.connection
            if raw is not None and not raw.in_transaction and not self.is_in_memory_db():
                with _LOCKS_GUARD:
                    idle = _IDLE.setdefault(self._file, [])
                    if len(idle) < POOL_SIZE:
                        idle.append(raw)
                        return None
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_writer_lock()
