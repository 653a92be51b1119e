"""Register a phone system and print its token once (only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from qingquan.core.actors import system
from qingquan.telephony.services import TelephonyError, pbx_create


class Command(BaseCommand):
    help = "Register a phone system (PBX) allowed to post call events; prints its token once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            pbx, token = pbx_create(actor=system("manage"), name=options["name"])
        except TelephonyError as error:
            raise CommandError(error.message) from None
        header = f"Authorization: Bearer {token}"
        self.stdout.write(f"{pbx.name}: POST /telephony/events with '{header}'")
