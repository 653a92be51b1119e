"""Reconcile a day's online payments against each provider's statement file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.payments.models import Provider
from qingquan.payments.reconcile import reconcile
from qingquan.payments.services import PaymentError


class Command(BaseCommand):
    help = (
        "Reconcile a day's payments and refunds against the providers' statement files "
        "(default: yesterday, every provider); lists the differences."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="the day, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--provider", choices=Provider.values, help="one provider only")
        parser.add_argument("--file", help="a statement file already downloaded (one provider)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = (
                dt.date.fromisoformat(options["date"])
                if options["date"]
                else clock.today() - dt.timedelta(days=1)
            )
        except ValueError as exc:
            raise CommandError("--date is YYYY-MM-DD") from exc
        names = [options["provider"]] if options["provider"] else list(Provider.values)
        statement = None
        if options["file"]:
            if len(names) != 1:
                raise CommandError("--file needs --provider")
            statement = Path(options["file"]).read_text(encoding="utf-8-sig")
        for name in names:
            try:
                run = reconcile(
                    actor=system("payments"), provider_name=name, day=day, statement=statement
                )
            except PaymentError as exc:
                raise CommandError(f"{name} {day}: {' '.join(exc.messages)}") from exc
            diffs = list(run.differences.all())
            self.stdout.write(
                f"{name} {day}: ours {run.ours_count} rows ¥{run.ours_total}, "
                f"statement {run.theirs_count} rows ¥{run.theirs_total}, "
                f"{len(diffs)} differences"
            )
            for d in diffs:
                self.stdout.write(
                    f"  {d.kind} {d.out_trade_no} {d.out_refund_no} ours={d.ours} theirs={d.theirs}"
                )
