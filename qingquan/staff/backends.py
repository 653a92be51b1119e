"""The staff's authentication backend: Django's `ModelBackend` (password, active
accounts only, permissions) whose look-up of the signed-in staff member at every request
is one precompiled statement (`core.db.fastselect`) instead of a query the ORM compiles
each time (issue #12)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from qingquan.core.db import fastselect
from qingquan.staff.models import User


class StaffBackend(ModelBackend):
    """`ModelBackend` with a precompiled `get_user`."""

    def get_user(self, user_id: Any) -> User | None:
        try:
            found = fastselect.rows(User, id=user_id)
        except (TypeError, ValueError):
            return None
        if not found:
            return None
        user: User = found[0]
        return user if self.user_can_authenticate(user) else None
