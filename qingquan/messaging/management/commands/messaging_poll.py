"""Poll Weibo and the Alipay life account once (or every N seconds): see messaging/poller.py."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from qingquan.messaging.poller import poll_all


class Command(BaseCommand):
    help = "Take the new messages and mentions of Weibo and the Alipay life account."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--every", type=float, default=0.0, help="poll again every N seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            done = poll_all()
            if not done:
                self.stdout.write("no platform is configured (WEIBO_*, ALIPAY_LIFE_* settings)")
            for polled in done:
                note = f" ({polled.error})" if polled.error else ""
                self.stdout.write(f"{polled.feed}: {polled.taken} new{note}")
            if options["every"] <= 0:
                return
            time.sleep(options["every"])
