"""Every URL pattern × every role, with known personal data seeded: no full phone number,
e-mail address, ID number or name reaches a role without the right, nothing personal
reaches an anonymous visitor, and roles with the right do see them where pages show them."""

from __future__ import annotations

import pytest

from qingquan.core import exposure
from qingquan.customers.models import Disclosure
from qingquan.customers.privacy import Kind

pytestmark = pytest.mark.django_db


def _open311_list() -> str:
    from django.test import Client

    return Client().get("/open311/v2/requests.json").content.decode()


def test_every_pattern_every_role() -> None:
    seeded = exposure.seed()
    results, unresolved = exposure.request_all(seeded)
    # Every pattern was requested (a new one needs its parameters in exposure._value).
    assert unresolved == []
    assert len(results) == len(exposure.patterns()) * len(exposure.ROLES)
    assert not [k for k, r in results.items() if r.status >= 500], "no answer is a 500"
    # Nobody without the right sees a full value; anonymous answers hold nothing personal.
    assert exposure.violations(results, seeded) == []
    # Every HTML answer, for every role, carries a policy that runs no inline script and
    # holds none (#13 item 6).
    scripts = {k: r.script_problems for k, r in results.items() if r.script_problems}
    assert scripts == {}

    def seen(route: str, role: str, kind: str) -> str:
        return results[(route, role)].kinds.get(kind, "")

    # Not vacuous: the pages that show numbers show them in full to roles with the right
    # and masked to the others (the defects of issue #13).
    for route, kind in [
        ("customers/<int:customer_id>/", Kind.PHONE),
        ("cases/<str:number>/", Kind.PHONE),
        ("console/cases/<str:number>/", Kind.PHONE),
        ("admin/customers/customerphone/", Kind.PHONE),
        ("admin/customers/customerphone/<path:object_id>/change/", Kind.PHONE),
        ("admin/customers/customer/<path:object_id>/change/", Kind.ID_NUMBER),
        ("api/v1/tickets/<number>", Kind.PHONE),
    ]:
        assert seen(route, "supervisor", kind) == exposure.FULL, route
    for route, role in [
        ("admin/customers/customerphone/", "dispatcher"),
        ("admin/customers/customerphone/<path:object_id>/change/", "dispatcher"),
        ("console/cases/<str:number>/", "agent"),
        ("cases/<str:number>/", "agent"),
        ("api/v1/tickets/<number>", "agent"),
    ]:
        assert seen(route, role, Kind.PHONE) == exposure.MASKED, (route, role)
    customer_change = "admin/customers/customer/<path:object_id>/change/"
    assert seen(customer_change, "dispatcher", Kind.ID_NUMBER) == exposure.MASKED
    assert seen("cases/<str:number>/", "agent", Kind.NAME) == exposure.FULL
    assert seen("customers/invoices/<int:invoice_id>.pdf", "back_office", Kind.NAME) == "full"
    # The history page names the record masked, even for those who may see it in full.
    history = "admin/customers/customerphone/<path:object_id>/history/"
    assert seen(history, "dispatcher", Kind.PHONE) == exposure.MASKED
    assert results[(history, "dispatcher")].outcome == "ok"

    # Anonymous: the Open311 request list and detail are reachable, with the seeded
    # request in them, and no anonymous answer holds anything personal.
    reachable = [
        r for (r, role), res in results.items() if role == "anonymous" and res.outcome == "ok"
    ]
    # The Open311 request list and detail are among them, with the seeded request in them.
    assert "open311/^v2/requests\\.(?P<fmt>xml|json)$" in reachable
    assert [r for r in reachable if results[(r, "anonymous")].leaked] == []
    assert "路面积水" in _open311_list()

    # Who was shown a full number is logged.
    supervisor = seeded.users["supervisor"]
    customer = seeded.objects["customers.customer"]
    shown = Disclosure.objects.filter(user=supervisor)
    assert shown.filter(
        object_type="customers.customer",
        object_id=str(customer.pk),
        kind=Kind.PHONE,
        where=f"GET /customers/{customer.pk}/",
    ).exists()
    assert shown.filter(kind=Kind.ID_NUMBER).exists()
    # The log names numbers masked only; roles that saw them masked left no record.
    assert not Disclosure.objects.filter(masked__contains=exposure.KNOWN.phone).exists()
    assert not Disclosure.objects.filter(user=seeded.users["agent"]).exists()
    assert not Disclosure.objects.filter(user=seeded.users["dispatcher"]).exists()
