"""`generate_city`: the run, batch by batch, and its audit event."""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from django.db.models import Max

from qingquan.areas.models import District
from qingquan.core import clock
from qingquan.core.actors import SEED
from qingquan.core.audit import audit_record
from qingquan.core.db import bulkload
from qingquan.customers.generator.pipeline import batches, default_workers
from qingquan.customers.generator.plan import _Plan
from qingquan.customers.generator.tables import _TABLES, _IdBlock, _write
from qingquan.customers.generator.words import (
    ACCOUNT_BASE,
    GenerateResult,
    Progress,
    _City,
    _month_starts,
)
from qingquan.customers.models import (
    Account,
)


def generate_city(
    *,
    accounts: int,
    months: int = 24,
    seed: int = 96390,
    batch_size: int = 5000,
    today: dt.date | None = None,
    progress: Progress | None = None,
    actor: Any = SEED,
    workers: int | None = None,
) -> GenerateResult:
    """Generate `accounts` accounts (one customer, premise and meter each) with `months`
    months of readings, bills and payments, after any accounts already there.

    `workers`: 1 makes the rows in a child process while this one writes them, 0 makes
    them here; by default a child for large runs where there is a second core. The rows
    are the same for a seed and a batch size either way."""
    started = time.perf_counter()
    today = today or clock.today()
    city = _City()
    rng = random.Random(seed)
    months_list = _month_starts(months, today)
    installed = (months_list[0] if months_list else today) - dt.timedelta(days=400)
    last = Account.objects.filter(number__regex=r"^\d{10}$").aggregate(m=Max("number"))["m"]
    first_number = max(int(last) + 1 if last else 0, ACCOUNT_BASE + 1)
    plan = _Plan(city, months_list, installed, today)
    ids = _IdBlock()
    done = bills = 0
    with bulkload.load_cache():
        for tables in batches(
            plan=plan,
            rng=rng,
            ids=ids,
            first_number=first_number,
            accounts=accounts,
            batch_size=batch_size,
            workers=default_workers(accounts) if workers is None else workers,
        ):
            _write(tables)
            ids.sync_sequences()  # after each batch: an interrupted run leaves usable sequences
            bills += len(tables["bill"])
            done += len(tables["account"])
            if progress:
                progress(done, accounts)
    # Fresh statistics: without them the planner scans the freshly filled bill table for
    # a screen pop.
    bulkload.analyze(_TABLES.values())
    seconds = time.perf_counter() - started
    first_district = District.objects.order_by("code").first()
    if first_district is not None and accounts:
        audit_record(
            actor=actor,
            action="customers.generate",
            obj=first_district,
            after={"accounts": accounts, "months": months, "bills": bills, "seed": seed},
            note="synthetic customers, accounts, readings, bills and payments",
        )
    return GenerateResult(accounts=accounts, bills=bills, seconds=seconds)
