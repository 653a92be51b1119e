"""Django's SQLite backend, with the process's writes queued on a lock and its connections
kept for reuse.

SQLite allows one writer at a time. When a second thread meets the database's write lock
SQLite's busy handler sleeps and polls (1, 2, 5 … 100 ms): under 16 agents creating cases
at once, a transaction that would take 2 ms waits tens of milliseconds for its turn. The
threads of one process therefore queue on a `threading.Lock` (woken the moment the writer
commits) before `BEGIN IMMEDIATE`, and so does a write statement outside a transaction;
SQLite's busy timeout still arbitrates between processes (a separate `worker`).

The queue knows which thread holds it. A thread that holds it (inside a transaction) and
waits on another thread of the process that then asks for it would wait for the
`timeout` (20 s) and fail with "database is locked": instead the asking thread gets
`WriterDeadlock` at once, naming where the holder waits. Detected: the holder waits in
`Thread.join` for the asking thread, or in `Future.result` / `concurrent.futures.wait` /
`as_completed` for a future the asking thread runs (a `ThreadPoolExecutor`); any other
wait still ends at the timeout, whose error then says which thread holds the queue, for
how long and where it is.

Under ASGI every request runs in a thread of its own, so Django opens a connection per
request (persistent connections belong to a thread). A new SQLite connection reads the
whole schema again and starts with a cold page cache, which cost more than the case it
then created. Closed connections therefore go back to a small pool of the process (as
Django's own pool does for PostgreSQL) unless a transaction is still open on them.
See docs/decisions/0006-sqlite-writer-queue.md.
"""

from __future__ import annotations

import concurrent.futures._base as futures_base
import concurrent.futures.thread as futures_thread
import datetime as dt
import sqlite3
import sys
import threading
import time
from types import FrameType
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

POOL_SIZE = 16


def _adapt_datetime(value: dt.datetime) -> str:
    """A datetime parameter of raw SQL in the text the ORM stores: UTC, no offset.

    Python's default adapter writes an aware datetime with its offset
    ("2026-03-03 00:00:00+00:00"), and SQLite compares the text: a stored deadline of
    that very instant ("2026-03-03 00:00:00") sorted before it, so `deadline < now` was
    true at `now == deadline` (the SLA sweep flagged a case overdue at its deadline on
    SQLite, a tick later on PostgreSQL), and another offset compared by hours wrong."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(" ")


sqlite3.register_adapter(dt.datetime, _adapt_datetime)
# How often a thread waiting for the queue checks whether its holder waits on it: the
# longest a deadlock goes unnoticed (a wait shorter than this costs nothing extra).
DEADLOCK_CHECK_SECONDS = 0.25


class WriterDeadlock(OperationalError):
    """A thread asked for the process's write queue of a SQLite database while the thread
    holding it (inside a transaction) waits for that very thread: neither could go on.

    Do not wait on another thread inside a transaction when that thread writes: let it
    write after the commit, or write its results in the waiting thread."""


class _Queue:
    """The writer lock of one database file and the thread holding it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holder: threading.Thread | None = None
        self.since = 0.0

    def acquire(self, timeout: float) -> None:
        """Wait for the lock (at most `timeout` s); raise `WriterDeadlock` as soon as the
        holder is found waiting on this thread, OperationalError at the timeout."""
        me = threading.current_thread()
        if self.holder is me:
            raise WriterDeadlock(
                "database is locked: this thread already holds the SQLite writer queue "
                "through another connection and would wait for itself"
            )
        deadline = time.monotonic() + timeout
        while not self.lock.acquire(
            timeout=max(0.0, min(DEADLOCK_CHECK_SECONDS, deadline - time.monotonic()))
        ):
            holder = self.holder
            if holder is not None:
                where = _waits_on(holder, me)
                if where is not None:
                    raise WriterDeadlock(
                        f"database is locked: thread {holder.name!r} holds the SQLite "
                        f"writer queue (in a transaction) and waits for this thread "
                        f"({me.name!r}) at {where}, which needs to write: never wait on "
                        "a thread that writes inside a transaction (docs/decisions/0006)"
                    )
            if time.monotonic() >= deadline:
                raise OperationalError(
                    f"database is locked (waited {timeout:.0f} s for a writer; "
                    f"{self._describe(holder)})"
                )
        self.holder = me
        self.since = time.monotonic()

    def release(self) -> None:
        self.holder = None
        self.lock.release()

    def _describe(self, holder: threading.Thread | None) -> str:
        if holder is None:
            return "held outside a connection of this backend"
        held = time.monotonic() - self.since
        frame = sys._current_frames().get(holder.ident or -1)
        at = _place(frame) if frame is not None else "unknown"
        return f"held by thread {holder.name!r} for {held:.1f} s, now at {at}"


_QUEUES: dict[str, _Queue] = {}
_QUEUES_GUARD = threading.Lock()
_IDLE: dict[str, list[Any]] = {}  # database file → connections ready for reuse


def _queue(name: str) -> _Queue:
    with _QUEUES_GUARD:
        return _QUEUES.setdefault(name, _Queue())


def _writer_lock(name: str) -> threading.Lock:
    """The bare lock of a database file's queue (tests take it as another process would)."""
    return _queue(name).lock


# Where a blocked thread can be seen waiting for another thread: (module file, function).
_THREADING = threading.__file__
_FUTURES = futures_base.__file__
_WAIT_MODULES = {_THREADING, _FUTURES}
_JOINS = {"join", "_wait_for_tstate_lock"}
_RESULTS = {"result", "exception"}
_WAITS_FOR_MANY = {"wait", "as_completed"}


def _place(frame: FrameType) -> str:
    """The innermost frame outside threading and concurrent.futures: the caller's line."""
    outer: FrameType | None = frame
    while outer is not None and outer.f_code.co_filename in _WAIT_MODULES:
        outer = outer.f_back
    shown = outer or frame
    return f"{shown.f_code.co_filename}:{shown.f_lineno} in {shown.f_code.co_name}"


def _futures_run_by(frame: FrameType | None) -> list[Any]:
    """The futures whose work the thread of `frame` is running (ThreadPoolExecutor)."""
    found = []
    while frame is not None:
        code = frame.f_code
        if code.co_filename == futures_thread.__file__ and code.co_name == "run":
            item = frame.f_locals.get("self")
            if isinstance(item, futures_thread._WorkItem):
                found.append(item.future)
        frame = frame.f_back
    return found


def _waits_on(holder: threading.Thread, me: threading.Thread) -> str | None:
    """Where `holder` is blocked waiting for `me` (the caller's line), or None.

    Reads the holder's innermost frames while it is blocked in threading or
    concurrent.futures: a join of `me`, or the result of a future `me` is running."""
    frame: FrameType | None = sys._current_frames().get(holder.ident or -1)
    if frame is None or frame.f_code.co_filename not in _WAIT_MODULES:
        return None  # running, or blocked on something else (a socket, a plain lock)
    mine: list[Any] | None = None
    top = frame
    while frame is not None and frame.f_code.co_filename in _WAIT_MODULES:
        code, local = frame.f_code, frame.f_locals
        if code.co_filename == _THREADING and code.co_name in _JOINS:
            if local.get("self") is me:
                return _place(top)
        elif code.co_filename == _FUTURES:
            if mine is None:
                mine = _futures_run_by(sys._getframe())
            if code.co_name in _RESULTS:
                waited = [local.get("self")]
            elif code.co_name in _WAITS_FOR_MANY:
                waited = list(local.get("fs") or ())
            else:
                waited = []
            if any(w is f for w in waited for f in mine):
                return _place(top)
        frame = frame.f_back
    return None


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")

# Statement text in Django's "format" style (%s) → SQLite's qmark style (?), per text.
# Django converts with a regular expression at every execution: for the long INSERTs of a
# case intake (issue #12) that was the largest single cost of a statement in Python.
_qmark: dict[str, str] = {}
_QMARK_KEPT = 4096  # distinct texts kept (ORM statements with IN lists vary)


def qmark(query: str) -> str:
    """`query` with its %s placeholders as ? and %% as % (Django's conversion), converted
    once per statement text."""
    converted = _qmark.get(query)
    if converted is None:
        converted = base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")
        if len(_qmark) >= _QMARK_KEPT:
            _qmark.clear()
        _qmark[query] = converted
    return converted


class QueuedCursor(base.SQLiteCursorWrapper):
    """A cursor whose write statements outside a transaction queue like transactions do
    (inside one, the transaction already holds the queue), and whose statements are
    converted to SQLite's placeholders once per text (`qmark`)."""

    queue: _Queue
    timeout: float

    def _must_queue(self, query: str) -> bool:
        return not self.connection.in_transaction and query.lstrip()[:6].upper() in _WRITES

    def _run(self, query: str, params: Any) -> Any:
        kind = type(params)
        if kind is list or kind is tuple:  # "format" style, as the ORM and we send
            return sqlite3.Cursor.execute(self, qmark(query), params)
        return super().execute(query, params)  # none, or a mapping ("pyformat")

    def execute(self, query: str, params: Any = None) -> Any:
        if not self._must_queue(query):
            return self._run(query, params)
        self.queue.acquire(self.timeout)
        try:
            return self._run(query, params)
        finally:
            self.queue.release()

    def executemany(self, query: str, param_list: Any) -> Any:
        if not self._must_queue(query):
            return super().executemany(query, param_list)
        self.queue.acquire(self.timeout)
        try:
            return super().executemany(query, param_list)
        finally:
            self.queue.release()


class DatabaseWrapper(base.DatabaseWrapper):
    """One database file's writers in this process take turns on one queue, and its
    closed connections wait in the pool for the next request."""

    # The private methods overridden below are missing from django-stubs: the `ignore`s.
    _holds_writer_lock = False

    @property
    def _file(self) -> str:
        return str(self.settings_dict["NAME"])

    @property
    def _timeout(self) -> float:
        """The longest wait for the queue: SQLite's busy timeout (settings: 20 s)."""
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def get_new_connection(self, conn_params: Any) -> Any:
        with _QUEUES_GUARD:
            idle = _IDLE.get(self._file)
            if idle:
                return idle.pop()
        return super().get_new_connection(conn_params)

    def create_cursor(self, name: Any = None) -> Any:
        cursor = self.connection.cursor(factory=QueuedCursor)
        cursor.queue = _queue(self._file)
        cursor.timeout = self._timeout
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        _queue(self._file).acquire(self._timeout)
        self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            _queue(self._file).release()

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
                with _QUEUES_GUARD:
                    idle = _IDLE.setdefault(self._file, [])
                    if len(idle) < POOL_SIZE:
                        idle.append(raw)
                        return None
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_writer_lock()
