"""The one place the platform asks what time it is.

Every service takes "now" from here so that tests can travel in time (time-machine) and
so that no naive datetime ever enters the system.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, aware, in UTC as Django stores it."""
    return timezone.now()


def local_now() -> datetime:
    """The current instant in Asia/Shanghai, for rules about the local day and hour."""
    return timezone.now().astimezone(SHANGHAI)


def today() -> date:
    """Today's date in Asia/Shanghai (not the server's time zone)."""
    return local_now().date()


def ensure_aware(value: datetime) -> datetime:
    """Refuse naive datetimes: they are always a bug in this system."""
    if timezone.is_naive(value):
        raise ValueError("naive datetime given where an aware one is required")
    return value
