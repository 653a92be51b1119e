"""Back-office screens: saves go through the services, and service rules come back as form
errors, never as a server error or half-written data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
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
        actor=SYSTEM, account=acc, period_start=dt.date(2023, 1, 1), period_end=dt.date(2023, 1, 31)
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


def _paid_bill() -> Any:
    from qingquan.customers import services

    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    bill = services.bill_issue(
        actor=SYSTEM, account=acc, period_start=dt.date(2023, 1, 1), period_end=dt.date(2023, 1, 31)
    )
    services.payment_record(actor=SYSTEM, bill=bill, amount=bill.total, channel="bank")
    return bill


def test_a_payment_is_reversed_from_its_list_with_a_reason(make_user: Any) -> None:
    bill = _paid_bill()
    payment = Payment.objects.get()
    client = admin_client(make_user)
    url = "/admin/customers/payment/"
    chosen = {"action": "reverse_payments", "_selected_action": [payment.pk]}
    response = client.post(url, chosen)
    assert response.status_code == 200  # asks for the reason first
    assert "reason" in response.context["form"].fields
    assert Payment.objects.count() == 1
    response = client.post(url, {**chosen, "apply": "1", "reason": "银行退票"})
    assert response.status_code == 302
    reversal = Payment.objects.get(reverses=payment)
    assert reversal.amount == -payment.amount
    assert reversal.reason == "银行退票"
    bill.refresh_from_db()
    assert bill.status == "unpaid"
    assert AuditEvent.objects.filter(action__startswith="customers.payment.rever").exists()


def test_a_meter_is_replaced_from_its_list(make_user: Any) -> None:
    acc = f.account()
    old = f.meter_of(acc)
    client = admin_client(make_user)
    data = {
        "action": "replace",
        "_selected_action": [old.pk],
        "apply": "1",
        "replaced_on": "2023-03-01",
        "final_reading": "35",
        "new_serial": "NEW-1",
        "new_size_mm": "",
        "new_initial_reading": "0",
    }
    response = client.post("/admin/customers/meter/", data)
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.removed_on == dt.date(2023, 3, 1)
    assert Meter.objects.get(serial="NEW-1").account == acc


def test_a_flagged_reading_is_confirmed_with_a_note(make_user: Any) -> None:
    from qingquan.customers import services
    from qingquan.customers.models import MeterReading

    acc = f.account()
    f.read(acc, dt.date(2023, 1, 31), "20")
    with pytest.raises(services.ReadingFlagged):  # lower than before: kept, flagged
        f.read(acc, dt.date(2023, 2, 28), "10")
    flagged = MeterReading.objects.get(flagged=True)
    client = admin_client(make_user)
    url = "/admin/customers/meterreading/"
    chosen = {"action": "clear_flag", "_selected_action": [flagged.pk], "apply": "1"}
    response = client.post(url, {**chosen, "note": ""})
    assert response.status_code == 200  # the note is required
    response = client.post(url, {**chosen, "note": "换表后读数重置"})
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert not flagged.flagged
    assert AuditEvent.objects.filter(action="customers.reading.confirm").count() == 1
