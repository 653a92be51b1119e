"""Block a caller's number: the PBX is told to reject its calls."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from qingquan.core.actors import system
from qingquan.telephony.services import TelephonyError, blocked_number_add


class Command(BaseCommand):
    help = "Block a number (the webhook answers its rings with {'action': 'reject'})."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("number")
        parser.add_argument("reason")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            blocked = blocked_number_add(
                actor=system("manage"), number=options["number"], reason=options["reason"]
            )
        except TelephonyError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"blocked {blocked.number}")
