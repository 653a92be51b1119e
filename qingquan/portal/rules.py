"""The portal's limits, in one place (tests and docs read them from here)."""

from __future__ import annotations

import datetime as dt

CODE_DIGITS = 6
CODE_VALID = dt.timedelta(minutes=5)
CODE_TRIES = 5  # wrong tries before a code is spent
# A number gets one code a minute and 5 an hour; an address 20 an hour.
CODE_GAP = dt.timedelta(seconds=60)
CODE_PER_PHONE_HOUR = 5
CODE_PER_IP_HOUR = 20
SESSION_AGE = dt.timedelta(days=7)
BIND_FAILURES_PER_HOUR = 5
ID_DIGITS = 4  # the last digits of the ID / USCC asked for
COOKIE = "qq_portal"
COOKIE_PATH = "/portal/"
PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTOS_PER_REPORT = 3
