"""Run the IVR on a FreeSWITCH through its event socket: `manage.py telephony_freeswitch
--host pbx --password …` (docs/operations.md)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from qingquan.telephony import freeswitch
from qingquan.telephony.health import line_health_report
from qingquan.telephony.pbx_drivers import serve_call


class Command(BaseCommand):
    help = (
        "Connect to a FreeSWITCH's event socket and run the IVR on the calls its dialplan "
        "parks with qingquan_line set."
    )

    def add_arguments(self, parser: Any) -> None:
        env = os.environ.get
        defaults = freeswitch.Paths()
        parser.add_argument("--host", default=env("ESL_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(env("ESL_PORT", "8021")))
        parser.add_argument("--password", default=env("ESL_PASSWORD", "ClueCon"))
        parser.add_argument(
            "--sounds",
            default=env("ESL_SOUNDS", defaults.sounds),
            help="where FreeSWITCH sees the prompts folder ($QINGQUAN_DATA_DIR/prompts)",
        )
        parser.add_argument(
            "--recordings",
            default=env("ESL_RECORDINGS", defaults.recordings),
            help="the folder FreeSWITCH records into",
        )
        parser.add_argument(
            "--recordings-here",
            default=env("ESL_RECORDINGS_HERE", ""),
            help="the same folder as this host sees it (default: the same path)",
        )
        parser.add_argument(
            "--agent-dial",
            default=env("ESL_AGENT_DIAL", defaults.agent_dial),
            help="the dial string of an agent's extension, e.g. user/{extension}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if "{extension}" not in options["agent_dial"]:
            raise CommandError("--agent-dial must contain {extension}, e.g. user/{extension}")
        paths = freeswitch.Paths(
            sounds=options["sounds"].rstrip("/"),
            recordings=options["recordings"].rstrip("/"),
            recordings_here=options["recordings_here"].rstrip("/"),
            agent_dial=options["agent_dial"],
        )
        esl = freeswitch.EslConnection(options["host"], options["port"], options["password"])
        try:
            esl.connect()
        except (OSError, freeswitch.EslError) as error:
            esl.close()
            line_health_report(line="*", up=False, detail=f"event socket: {error}")
            raise CommandError(f"FreeSWITCH event socket: {error}") from None

        def on_call(driver: freeswitch.FreeswitchDriver, caller: str, line: str) -> None:
            serve_call(driver, caller=caller, call_id=f"fs-{driver.channel}", line=line)

        app = freeswitch.FreeswitchApp(esl, on_call=on_call, paths=paths)
        try:
            line_health_report(line="*", up=True, detail="FreeSWITCH event socket connected")
            self.stdout.write(f"connected to {options['host']}:{options['port']}")
            app.run()
        finally:
            esl.close()
            for thread in app.threads:
                thread.join(timeout=15)
            # The event socket closed: the wallboard shows the fault.
            line_health_report(line="*", up=False, detail="FreeSWITCH event socket closed")
