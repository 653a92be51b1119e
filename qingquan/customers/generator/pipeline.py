"""The batches of a run, made in this process or in a child process while this one writes.

Making a batch's rows is Python work and writing them is mostly the database's (SQLite's
C code, or the PostgreSQL server): with a second core, a forked child makes batch n + 1
while the parent writes batch n, and sends each batch pickled through a pipe. The child
never touches the database (the plan is read before the fork); it draws from the same
random generator in the same order, so the rows are the same either way. The pipe holds
at most the batch being sent, so memory stays flat."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import random
import traceback
from collections.abc import Iterator
from typing import Any

from qingquan.customers.generator.plan import _Plan
from qingquan.customers.generator.rows import _rows
from qingquan.customers.generator.tables import _IdBlock

Tables = dict[str, list[tuple[Any, ...]]]
# Below this many accounts a child costs more than it saves.
CHILD_FROM_ACCOUNTS = 20_000


def default_workers(accounts: int) -> int:
    """1 (a generating child) for a large run on a machine with two cores or more where
    processes can be forked, else 0 (everything in this process)."""
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    return int(accounts >= CHILD_FROM_ACCOUNTS and can_fork and (os.cpu_count() or 1) > 1)


def batches(
    *,
    plan: _Plan,
    rng: random.Random,
    ids: _IdBlock,
    first_number: int,
    accounts: int,
    batch_size: int,
    workers: int,
) -> Iterator[Tables]:
    """Each batch's rows in order; `ids` is advanced past each batch as it is yielded."""
    sizes = [min(batch_size, accounts - done) for done in range(0, accounts, batch_size)]
    if not workers:
        number = first_number
        for size in sizes:
            yield _rows(plan=plan, rng=rng, ids=ids, first_number=number, size=size)
            number += size
        return
    yield from _from_child(plan, rng, ids, first_number, sizes)


def _from_child(
    plan: _Plan, rng: random.Random, ids: _IdBlock, first_number: int, sizes: list[int]
) -> Iterator[Tables]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_produce, args=(plan, rng, ids, first_number, sizes, sender), daemon=True
    )
    child.start()
    sender.close()
    try:
        for _size in sizes:
            try:
                message = pickle.loads(receiver.recv_bytes())  # noqa: S301 (our own child)
            except EOFError:
                raise RuntimeError("the generating process ended without its rows") from None
            if isinstance(message, str):
                raise RuntimeError(f"the generating process failed:\n{message}")
            tables, last = message
            ids.last.update(last)
            yield tables
    finally:
        receiver.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
            child.join()


def _produce(
    plan: _Plan,
    rng: random.Random,
    ids: _IdBlock,
    first_number: int,
    sizes: list[int],
    sender: Any,
) -> None:
    """The child: every batch's rows and the ids after it, pickled into the pipe (or the
    traceback of what went wrong)."""
    try:
        number = first_number
        for size in sizes:
            tables = _rows(plan=plan, rng=rng, ids=ids, first_number=number, size=size)
            number += size
            sender.send_bytes(
                pickle.dumps((tables, dict(ids.last)), protocol=pickle.HIGHEST_PROTOCOL)
            )
    except BaseException:
        sender.send_bytes(pickle.dumps(traceback.format_exc()))
    finally:
        sender.close()
