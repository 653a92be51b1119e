"""Refusals of the dispatch services; the API and pages turn them into 4xx answers."""

from __future__ import annotations

from typing import Any


class DispatchError(Exception):
    """A request dispatch refuses; `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: Any, *, job: Any = None, field: str = "") -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.job = job
        self.field = field


class InvalidInput(DispatchError):
    """The request itself is wrong (no location, unknown valve, not an image…)."""

    status = 400


class NotFound(DispatchError):
    status = 404


class OutOfOrder(DispatchError):
    """A crew step the job's state does not allow now (repaired before arrived)."""

    status = 409


class Conflict(DispatchError):
    """Someone changed the job since the caller read it (two dispatchers assigning at
    once): the answer carries the job as it is now."""

    status = 409
