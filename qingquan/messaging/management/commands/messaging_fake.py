"""Run the fake SMS gateway and WeChat server (demo and tests): see messaging/fake.py."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from qingquan.messaging.fake import FakeGateways


class Command(BaseCommand):
    help = "Run the local fake SMS gateway and WeChat server (they send receipts back)."

    def add_arguments(self, parser: Any) -> None:
        conf = getattr(settings, "MESSAGING", {})
        parser.add_argument("--port", type=int, default=int(conf.get("FAKE_PORT", 8125)))
        parser.add_argument(
            "--receipts-to",
            default=conf.get("FAKE_RECEIPTS_TO", "http://127.0.0.1:8000/messaging/receipts"),
            help="where delivery receipts are posted (the platform's receipt endpoint)",
        )
        parser.add_argument("--delay", type=float, default=0.0, help="seconds per send")

    def handle(self, *args: Any, **options: Any) -> None:
        conf = getattr(settings, "MESSAGING", {})
        fake = FakeGateways(
            port=options["port"],
            receipts_to=options["receipts_to"],
            receipt_token=conf.get("RECEIPT_TOKEN", ""),
            delay=options["delay"],
        ).start()
        self.stdout.write(f"fake SMS gateway {fake.url}/sms/ · fake WeChat {fake.url}/wechat/")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            fake.stop()
