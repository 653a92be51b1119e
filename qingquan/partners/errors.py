"""Errors of the open APIs; each carries the code and HTTP status of its answer."""

from __future__ import annotations

from typing import Any

from qingquan.core.access import AccessDenied


class PartnerError(Exception):
    """A request the open APIs refuse, answered as {"error": {"code", "message"}}."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: Any, *, code: str = "", status: int = 0) -> None:
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code
        if status:
            self.status = status


class NotFound(PartnerError):
    status = 404
    code = "not_found"


class Forbidden(PartnerError, AccessDenied):
    """The platform's one access error, answered in the open APIs' error body."""

    status = 403
    code = "forbidden"


class IdempotencyConflict(PartnerError):
    status = 422
    code = "idempotency_key_reused"


class RateLimited(PartnerError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: Any, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
