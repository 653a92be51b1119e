"""The screen pop end to end (call events in → the agent's pop fragment rendered) against
the customer lookup alone, which is the floor: the pop adds the call and contact records,
the agent's state, the cases with their clocks, the repeat-caller count and the template."""

from __future__ import annotations

import itertools
import random
from typing import Any

from bench.context import BenchContext, bench_user
from bench.harness import Comparison
from qingquan.core.actors import system

# The figure: the pop on the 1 M-account city (shared with bench_customers).
ACCOUNTS_AT_SCALE_1 = 1_000_000
TOKEN = "bench-console-pbx-token-96390"


def _agent() -> Any:
    return bench_user("bench-console-agent", "基准坐席", extension="8999")


def _pbx() -> Any:
    from qingquan.telephony import services
    from qingquan.telephony.models import Pbx, token_digest

    existing = Pbx.objects.filter(token_hash=token_digest(TOKEN)).first()
    return existing or services.pbx_create(actor=system("bench"), name="bench-pbx", token=TOKEN)[0]


def _ensure_customers(ctx: BenchContext) -> int:
    from qingquan.customers.generator import generate_city
    from qingquan.customers.models import Account

    wanted = max(200, int(ACCOUNTS_AT_SCALE_1 * ctx.scale))
    have = Account.objects.count()
    if have < wanted:
        generate_city(accounts=wanted - have, months=24, seed=have + 1)
    return max(have, wanted)


def cases(ctx: BenchContext) -> list[Comparison]:
    from django.template.loader import render_to_string

    from qingquan.console import selectors as console
    from qingquan.console import services as console_services
    from qingquan.customers.models import CustomerPhone
    from qingquan.customers.selectors import customer_lookup
    from qingquan.telephony import services as telephony

    accounts = _ensure_customers(ctx)
    agent = _agent()
    pbx = _pbx()
    phones = list(CustomerPhone.objects.values_list("national_digits", flat=True)[:500])
    rng = random.Random(96390)
    serial = itertools.count(rng.randrange(1_000_000_000))

    def pick() -> str:
        return phones[rng.randrange(len(phones))]

    def lookup() -> None:
        customer_lookup(user=agent, query=pick(), limit=5)

    def screen_pop() -> None:
        call_id = f"bench-{next(serial)}"
        number = pick()
        result = None
        for kind in ("ring", "answer"):
            event = telephony.parse_event(
                {
                    "event_id": f"{call_id}-{kind}",
                    "type": kind,
                    "call_id": call_id,
                    "from": number,
                    "to": "96390",
                    "extension": "8999" if kind == "answer" else "",
                }
            )
            result = telephony.call_event_handle(pbx=pbx, event=event)
        assert result is not None
        pop = console.screen_pop(user=agent, call=result.call)
        html = render_to_string(
            "console/_pop.html",
            {
                "pop": pop,
                "kinds": console.intake_kinds(),
                "resolvable": console_services.RESOLVABLE_ON_CALL,
                "values": {},
            },
        )
        assert "screen-pop" in html

    return [
        Comparison(
            name=f"screen pop from a call event ({accounts:,} accounts)",
            baseline_label="customer_lookup alone",
            subject_label="ring + answer events, contact, pop selector, fragment",
            baseline=lookup,
            subject=screen_pop,
            iterations=150,
            max_subject_ms=150.0,
            note="in-process; the subject writes the call, its events, the contact and state",
        )
    ]
