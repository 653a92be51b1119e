"""Seeding the embedded default with demo data (never in production)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from qingquan.areas.services import areas_seed_ningbo
from qingquan.connections.demo import seed_connections
from qingquan.core import clock
from qingquan.customers.demo import seed_customers
from qingquan.dispatch.demo import seed_dispatch
from qingquan.knowledge.demo import seed_knowledge
from qingquan.network.demo import seed_network
from qingquan.notices.demo import seed_notices
from qingquan.reports.demo import seed_reports
from qingquan.staff.demo import DemoLogin, seed_staff
from qingquan.staff.models import User
from qingquan.telephony.demo import seed_call_history, seed_telephony
from qingquan.tickets.demo import seed_tickets


class DemoRefused(Exception):
    """Raised when asked to seed demo data where it does not belong."""


def demo_is_seeded() -> bool:
    return User.objects.filter(username="admin").exists()


@transaction.atomic
def demo_seed() -> list[DemoLogin]:
    """Load the demo: Ningbo's areas, the organisation, the roster, one login per role.

    Returns the logins to print; returns [] if the demo is already there.
    """
    if settings.QINGQUAN_ENV == "production":
        raise DemoRefused("demo data is never loaded in production mode")
    if demo_is_seeded():
        return []
    areas_seed_ningbo()
    logins = seed_staff(today=clock.today())
    seed_customers(count=settings.QINGQUAN_DEMO_ACCOUNTS)
    seed_network()
    seed_tickets(today=clock.today())
    seed_dispatch()
    seed_telephony()
    seed_knowledge()
    seed_reports()
    seed_notices()
    seed_connections()
    seed_call_history()
    return logins
