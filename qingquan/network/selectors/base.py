"""Shared by the network's reads: refusals and limits."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

SNAP_MAX_M = 150.0
MAX_OUTLINES = 40


class NotFound(Exception):
    """No such pipe (404)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class TooFar(Exception):
    """A point farther from every pipe than `SNAP_MAX_M` (422, with the distance)."""

    def __init__(self, distance_m: float) -> None:
        self.distance_m = distance_m
        self.message = _(
            "The point is %(distance)d m from the nearest pipe (at most %(max)d m)."
        ) % {"distance": round(distance_m), "max": round(SNAP_MAX_M)}
        super().__init__(self.message)
