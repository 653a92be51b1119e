"""Daily counts leave the changing transaction on PostgreSQL (decision 0009): each change
appends a `RollupDelta`, folded into its rollup row later, and never lost on the way."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from qingquan.reports import rollup, tasks
from qingquan.reports.models import ContactDaily, KpiDaily, RollupDelta

from .conftest import sh

pytestmark = pytest.mark.django_db


def test_counts_are_folded_later_and_never_lost(at: Any, new_case: Any) -> None:
    at(sh(2026, 3, 2, 9))
    for _ in range(3):
        new_case("consultation")
    if rollup.deferred():
        # Nothing shared was written by the creations: three cases, six pending deltas.
        assert not KpiDaily.objects.exists() and not ContactDaily.objects.exists()
        assert RollupDelta.objects.count() == 6
    assert tasks.fold_rollups.call() == (6 if rollup.deferred() else 0)
    assert KpiDaily.objects.get().created == 3
    assert ContactDaily.objects.get().contacts == 3
    assert not RollupDelta.objects.exists()
    assert rollup.fold() == 0  # nothing twice
    new_case("consultation")  # read through the selectors: folded first
    assert rollup.consistency_check() == []
    assert KpiDaily.objects.get().created == 4


def test_a_rolled_back_change_leaves_no_count(at: Any, new_case: Any) -> None:
    from django.db import transaction

    at(sh(2026, 3, 2, 9))
    with pytest.raises(RuntimeError), transaction.atomic():
        new_case("consultation")
        raise RuntimeError("rolled back")
    rollup.fold()
    assert not KpiDaily.objects.exists() and not RollupDelta.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite counts at once")
def test_folds_racing_creations_lose_nothing(new_case: Any) -> None:
    """Creations and folds at the same time (two folders, as two workers): every count
    arrives exactly once."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def folder() -> None:
        try:
            while not stop.is_set():
                rollup.fold()
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=folder) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(20):
            new_case("consultation")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    rollup.fold()
    assert sum(KpiDaily.objects.values_list("created", flat=True)) == 20
    assert sum(ContactDaily.objects.values_list("contacts", flat=True)) == 20
    assert rollup.consistency_check() == []
