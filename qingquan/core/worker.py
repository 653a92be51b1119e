"""Running the background worker: alone (`qingquan worker`) or inside `qingquan serve`."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections
from django.utils.crypto import get_random_string

logger = logging.getLogger(__name__)
TICK_SECONDS = 15


def _import_task_modules() -> None:
    """Import every app's tasks module so periodic jobs are registered."""
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("qingquan."):
            try:
                import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.tasks":
                    raise


def ticker(stop: threading.Event) -> None:
    """Claim and enqueue periodic jobs until `stop` is set."""
    from qingquan.core.periodic import tick

    _import_task_modules()
    while not stop.is_set():
        try:
            tick()
        except Exception:
            logger.exception("periodic tick failed")
        finally:
            close_old_connections()
        stop.wait(TICK_SECONDS)


def make_worker(*, interval: float = 1.0) -> object:
    """A django-tasks-db worker processing every queue."""
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )


def start_in_background() -> threading.Event:
    """Start the worker and the ticker as daemon threads (for `qingquan serve`)."""
    _import_task_modules()
    stop = threading.Event()
    worker = make_worker()

    def run_worker() -> None:
        while not stop.is_set():
            try:
                worker.run()  # type: ignore[attr-defined]
            except Exception:
                logger.exception("in-process worker stopped; restarting in 5 s")
                time.sleep(5)

    threading.Thread(target=run_worker, name="qingquan-worker", daemon=True).start()
    threading.Thread(target=ticker, args=(stop,), name="qingquan-ticker", daemon=True).start()
    return stop


def run_forever() -> None:
    """Run a worker and a ticker in this process until interrupted (`qingquan worker`)."""
    _import_task_modules()
    stop = threading.Event()
    threading.Thread(target=ticker, args=(stop,), name="qingquan-ticker", daemon=True).start()
    worker = make_worker()
    worker.configure_signals()  # type: ignore[attr-defined]
    try:
        worker.run()  # type: ignore[attr-defined]
    finally:
        stop.set()
