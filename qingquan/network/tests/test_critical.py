"""Critical customers: marked in the customers admin (audited, through the service), listed
in the isolation plan with their kind (page and API), names masked for roles without
customers.view; the demo marks a few."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.customers.critical import customer_critical_set
from qingquan.customers.models import CriticalKind, Customer
from qingquan.network import selectors
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

NEAR_J4 = {"longitude": 121.5541, "latitude": 29.8701}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hospital(tmp_path):
    from qingquan.customers.tests.factories import account, customer, premise

    import_small(tmp_path)
    place = premise(**NEAR_J4, room="0401")
    org = customer(
        name="宁波市第一医院",
        phones=("057487085588",),
        kind="organisation",
        uscc="91110000600037341L",
    )
    customer_critical_set(actor=SYSTEM, customer=org, kind=CriticalKind.HOSPITAL)
    account(cust=org, premise=place, kind="non_residential", number="3302990001")
    dialysis = customer(name="张阿婆", phones=("13900001111",), elderly_or_impaired=True)
    customer_critical_set(actor=SYSTEM, customer=dialysis, kind=CriticalKind.DIALYSIS)
    account(cust=dialysis, premise=place, number="3302990002")
    account(premise=place, number="3302990003")  # not critical
    return org


def test_the_plan_lists_critical_customers_first_by_kind(hospital):
    plan = selectors.isolation_plan(user=SYSTEM, pipe="P4")
    assert plan.critical_count == 2 and plan.accounts == 3
    assert [(c.kind, c.customer, c.account) for c in plan.critical] == [
        ("hospital", "宁波市第一医院", "3302990001"),
        ("dialysis", "张阿婆", "3302990002"),
    ]
    # P3's closure cuts nobody off: no critical customer there.
    assert selectors.isolation_plan(user=SYSTEM, pipe="P3").critical_count == 0


def test_api_and_page_show_them_masked_for_crews(hospital, make_user):
    supervisor = _client(make_user(Role.SUPERVISOR))
    plan = supervisor.get("/api/v1/network/isolation", {"pipe": "P4"}).json()
    assert plan["critical_customers_count"] == 2
    assert plan["critical_customers"][0] == {
        "kind": "hospital",
        "kind_label": "医院",
        "customer": "宁波市第一医院",
        "account": "3302990001",
        "address": plan["critical_customers"][0]["address"],
    }
    crew = _client(make_user(Role.CREW))
    masked = crew.get("/api/v1/network/isolation", {"pipe": "P4"}).json()
    assert [c["customer"] for c in masked["critical_customers"]] == ["宁******", "张**"]
    panel = crew.get("/network/plan/", {"pipe": "P4"}).content.decode()
    assert 'data-testid="critical"' in panel and "居家透析" in panel
    assert "张**" in panel and "张阿婆" not in panel
    listed = supervisor.get("/network/plan/accounts/", {"pipe": "P4"}).content.decode()
    assert listed.count('data-testid="critical-badge"') == 2
    rows = supervisor.get("/api/v1/network/isolation/accounts", {"pipe": "P4"}).json()
    assert sorted(r["critical"] for r in rows["accounts"]) == ["", "医院", "居家透析"]


def test_set_in_the_admin_and_audited(make_user):
    from qingquan.customers.tests.factories import customer

    person = customer(name="李大爷", phones=("13900002222",))
    admin = _client(make_user(Role.BACK_OFFICE))
    page = admin.get(f"/admin/customers/customer/{person.pk}/change/").content.decode()
    assert 'name="critical_kind"' in page
    data = {
        "kind": "person",
        "name": "李大爷",
        "uscc": "",
        "id_number": "",
        "critical_kind": "elderly",
        "note": "",
        "legacy_ref": "",
        "phones-TOTAL_FORMS": "0",
        "phones-INITIAL_FORMS": "1",
        "accounts-TOTAL_FORMS": "0",
        "accounts-INITIAL_FORMS": "0",
    }
    response = admin.post(f"/admin/customers/customer/{person.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Customer.objects.get(pk=person.pk).critical_kind == "elderly"
    event = AuditEvent.objects.filter(action="customers.customer.update").latest("pk")
    assert event.after == {"critical_kind": "elderly"}
    listed = admin.get("/admin/customers/customer/", {"critical_kind__exact": "elderly"})
    assert "李大爷" in listed.content.decode()


def test_the_service_refuses_an_unknown_kind_and_roles_without_the_right(make_user):
    from qingquan.core.access import AccessDenied
    from qingquan.customers.tests.factories import customer

    person = customer()
    with pytest.raises(ValidationError):
        customer_critical_set(actor=SYSTEM, customer=person, kind="zoo")
    with pytest.raises(AccessDenied):
        customer_critical_set(actor=make_user(Role.CREW), customer=person, kind="school")
    before = AuditEvent.objects.count()
    customer_critical_set(actor=SYSTEM, customer=person, kind="")  # no change, no event
    assert AuditEvent.objects.count() == before


def test_the_demo_marks_a_few(settings):
    from qingquan.areas.services import areas_seed_ningbo
    from qingquan.customers.demo import seed_customers
    from qingquan.network.demo import seed_network

    areas_seed_ningbo()
    seed_customers(count=200)
    seed_network()
    marked = Customer.objects.exclude(critical_kind="")
    assert marked.exists()
    assert all(c.accounts.filter(premise__network_connection__isnull=False) for c in marked)
