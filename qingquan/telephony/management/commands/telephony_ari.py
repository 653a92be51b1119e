"""Run the IVR on an Asterisk through ARI: `manage.py telephony_ari --url
http://pbx:8088/ari --user qingquan --password …` (docs/operations.md)."""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.management.base import BaseCommand

from qingquan.telephony import ari
from qingquan.telephony.health import line_health_report
from qingquan.telephony.pbx_drivers import serve_call


class Command(BaseCommand):
    help = "Connect to an Asterisk's ARI and run the IVR on the calls it hands to Stasis."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=os.environ.get("ARI_URL", ""))
        parser.add_argument("--user", default=os.environ.get("ARI_USER", "qingquan"))
        parser.add_argument("--password", default=os.environ.get("ARI_PASSWORD", ""))
        parser.add_argument("--app", default=ari.APP)

    def handle(self, *args: Any, **options: Any) -> None:
        client = ari.AriClient(
            options["url"], options["user"], options["password"], app=options["app"]
        )

        def on_call(driver: ari.AriDriver, caller: str, line: str) -> None:
            serve_call(driver, caller=caller, call_id=f"ari-{driver.channel}", line=line)

        stop = threading.Event()
        try:
            line_health_report(line="*", up=True, detail="ARI connected")
            ari.AriApp(client, on_call=on_call).run(stop)
        finally:
            # The event socket closed: the wallboard shows the fault.
            line_health_report(line="*", up=False, detail="ARI connection closed")
