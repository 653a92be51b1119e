"""Back-office screens: saves go through the services, and service rules come back as form
errors, never as a server error or half-written data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.customers.models import Customer, Meter, Payment
from qingquan.customers.tests import factories as f
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

VALID_USCC = "91110000600037341L"


def admin_client(make_user: Any, role: Role = Role.BACK_OFFICE) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_customer_add_validates_uscc_and_audits(make_user: Any) -> None:
    client = admin_client(make_user)
    data = {
        "kind": "organisation",
        "name": "宁波甬江纸业有限公司",
        "uscc": "91330200XXXXXXXXXX",
        "id_number": "",
        "note": "",
        "phones-TOTAL_FORMS": "0",
        "phones-INITIAL_FORMS": "0",
        "accounts-TOTAL_FORMS": "0",
        "accounts-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/customers/customer/add/", data)
    assert response.status_code == 200
    assert "uscc" in response.context["adminform"].form.errors
    assert not Customer.objects.exists()
    response = client.post("/admin/customers/customer/add/", {**data, "uscc": VALID_USCC})
    assert response.status_code == 302
    assert Customer.objects.get().uscc == VALID_USCC
    assert AuditEvent.objects.filter(action="customers.customer.create").count() == 1


def test_second_meter_is_a_form_error(make_user: Any) -> None:
    acc = f.account()
    client = admin_client(make_user)
    response = client.post(
        "/admin/customers/meter/add/",
        {
            "account": acc.pk,
            "serial": "X-2",
            "size_mm": 15,
            "installed_on": "2023-05-01",
            "initial_reading": "0",
        },
    )
    assert response.status_code == 200
    assert "换表" in str(response.context["adminform"].form.non_field_errors())  # zh UI
    assert Meter.objects.count() == 1


def test_overpayment_is_a_form_error_and_nothing_is_written(make_user: Any) -> None:
    from qingquan.customers import services

    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    bill = services.bill_issue(
        actor=None, account=acc, period_start=dt.date(2023, 1, 1), period_end=dt.date(2023, 1, 31)
    )
    client = admin_client(make_user)
    url = "/admin/customers/payment/add/"
    response = client.post(url, {"bill": bill.pk, "amount": "999.00", "channel": "counter"})
    assert response.status_code == 200
    assert not Payment.objects.exists()
    response = client.post(url, {"bill": bill.pk, "amount": "60.00", "channel": "counter"})
    assert response.status_code == 302
    assert Payment.objects.get().amount == D("60.00")
    assert AuditEvent.objects.filter(action="customers.payment.record").count() == 1


def test_agents_cannot_reach_the_admin_and_bills_are_read_only(make_user: Any) -> None:
    assert admin_client(make_user, Role.AGENT).get("/admin/customers/bill/").status_code in {
        302,
        403,
    }
    client = admin_client(make_user, Role.SUPERVISOR)
    assert client.get("/admin/customers/bill/").status_code == 200
    assert client.get("/admin/customers/bill/add/").status_code == 403
    assert client.get("/admin/customers/customer/").status_code == 200
    assert client.get("/admin/customers/customer/add/").status_code == 403
