"""Domain errors of the case workflow; the API and pages turn them into 4xx answers."""

from __future__ import annotations

from typing import Any

from qingquan.core.access import AccessDenied


class TicketError(Exception):
    """A request the case workflow refuses; `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: Any, *, ticket: Any = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.ticket = ticket


class InvalidInput(TicketError):
    """The request itself is wrong (missing reason, unknown department…)."""

    status = 400


class NotAllowed(TicketError, AccessDenied):
    """The caller may not do this to this case: the platform's one access error
    (`core.access.AccessDenied`) raised by the per-case rules of `tickets.rules`."""

    status = 403

    def __init__(
        self, message: Any = None, *, ticket: Any = None, capability: str | None = None
    ) -> None:
        AccessDenied.__init__(self, message, capability=capability)
        self.ticket = ticket


class IllegalTransition(TicketError):
    """The case's state does not allow this step (e.g. accepting a closed case)."""

    status = 409


class StaleVersion(TicketError):
    """Someone changed the case since the caller read it (optimistic locking)."""

    status = 409
