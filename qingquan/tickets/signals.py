"""Signals the tickets app sends for changes that write no `TicketEvent`."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the SLA sweep's transaction with ``ticket_ids``: the cases whose resolution
# deadline has just been flagged as passed (their `breached_at` was stamped). Statistics
# listen, so a deadline passing unresolved counts as late without anybody touching the case.
cases_breached = Signal()
