"""A web process warms up before it takes traffic (#12, decision 0010), also where uvicorn
imports the application inside its event loop (`serve --workers N`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from qingquan.core import warmup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failures(monkeypatch: Any) -> list[str]:
    """What the warm-up logged as failed; Django's async-safety check switched on (the
    browser tests switch it off for Playwright)."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    logged: list[str] = []
    monkeypatch.setattr(warmup.logger, "exception", lambda message, *a: logged.append(message))
    return logged


def test_warm_up_outside_an_event_loop(failures: list[str]) -> None:
    assert warmup.warm_up() > 0
    assert failures == []


def test_warm_up_inside_an_event_loop_does_its_database_work_in_a_thread(
    failures: list[str],
) -> None:
    async def import_as_uvicorn_workers_do() -> float:
        return warmup.warm_up()

    assert asyncio.run(import_as_uvicorn_workers_do()) > 0
    assert failures == []


def test_the_start_up_objects_are_out_of_the_collectors_reach(failures: list[str]) -> None:
    """A full collection walked every object of a warmed process (110–145 ms, the
    slowest requests' wait); after the warm-up they are frozen, which collections skip
    (what bench.staff_p99 measures the effect of)."""
    import gc

    gc.unfreeze()
    try:
        warmup.warm_up()
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert frozen > 50_000  # Django, the apps, the schemas and templates
    assert failures == []
