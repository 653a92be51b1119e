"""Django's database sessions, each read with one precompiled statement
(`core.db.fastselect`): every staff request reads its session, and compiling the ORM's
query for it cost more than running it (issue #12). Writing, expiry and clearing are
Django's. `SESSION_ENGINE = "qingquan.core.sessions"`."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from qingquan.core.db import fastselect


class SessionStore(DatabaseSessionStore):
    """A database session read by its key; one past its expiry is no session, as
    Django's own store has it."""

    def _get_session_from_db(self) -> Any:
        try:
            found = fastselect.rows(self.model, session_key=self.session_key)
        except SuspiciousOperation as error:
            logger = logging.getLogger(f"django.security.{error.__class__.__name__}")
            logger.warning(str(error))
            found = []
        if found and found[0].expire_date > timezone.now():
            return found[0]
        self._session_key = None
        return None
