"""The one error of access checks.

Every "may this actor do this" check — a view's `staff.access.require`, an API endpoint's
`staff.access.check`, a service's capability check, a per-case rule of
`tickets.rules` — raises `AccessDenied`. Each interface turns it into its own answer:
the 403 page (it is a `PermissionDenied`), a 403 JSON `{"detail": …}` on the staff and
partner APIs (their exception handlers), the spec's error list on Open311.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


class AccessDenied(PermissionDenied):
    """The actor may not do this: `capability` (when one is named) and a readable message."""

    status = 403

    def __init__(self, message: Any = None, *, capability: str | None = None) -> None:
        if message is None:
            message = (
                _("Your role may not do this (%(cap)s).") % {"cap": capability}
                if capability
                else _("You may not do this.")
            )
        super().__init__(str(message))
        self.message = str(message)
        self.capability = capability
