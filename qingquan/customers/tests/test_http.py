"""The API and the pages: answers, 4xx with a message on bad input, never a 500."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.customers import services
from qingquan.customers.models import Account
from qingquan.customers.tests import factories as f
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def acc() -> Account:
    cust = f.customer(name="陈建国", phones=("13912345678",))
    account = f.account(cust, number="3302765432", road="中山东路100号")
    f.read(account, dt.date(2023, 1, 31), "20")
    f.read(account, dt.date(2023, 2, 28), "45")
    for start, end in [((2023, 1, 1), (2023, 1, 31)), ((2023, 2, 1), (2023, 2, 28))]:
        services.bill_issue(
            actor=SYSTEM, account=account, period_start=dt.date(*start), period_end=dt.date(*end)
        )
    return account


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_lookup_by_phone_masks_for_agents(acc: Account, agent: Any) -> None:
    response = client_for(agent).get("/api/v1/customers/lookup", {"q": "139 1234 5678"})
    assert response.status_code == 200
    [card] = response.json()
    assert card["name"] == "陈建国"
    assert (
        card["phones"][0]
        == {
            "number": "139****5678",
            "label": "Mobile",
            "is_primary": True,
            "masked": True,
        }
        or card["phones"][0]["number"] == "139****5678"
    )
    assert card["accounts"][0]["number"] == "3302765432"
    assert len(card["accounts"][0]["bills"]) == 2
    assert D(card["balance"]) == D("135.00")
    assert card["open_cases"] == [] and card["interruptions"] == []


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 422), ({"q": ""}, 422), ({"q": "x" * 101}, 422), ({"q": "1", "limit": 0}, 422),
     ({"q": "1", "limit": "many"}, 422)],
)  # fmt: skip
def test_api_lookup_bad_input_is_4xx_with_message(agent: Any, params: Any, status: int) -> None:
    response = client_for(agent).get("/api/v1/customers/lookup", params)
    assert response.status_code == status
    assert response.json()["detail"]


def test_api_refuses_roles_without_the_capability(acc: Account, make_user: Any) -> None:
    response = client_for(make_user(Role.CREW)).get("/api/v1/customers/lookup", {"q": "1"})
    assert response.status_code == 403
    assert "customers.view" in response.json()["detail"]
    assert Client().get("/api/v1/customers/lookup", {"q": "1"}).status_code == 401


def test_api_customer_and_bills(acc: Account, supervisor: Any) -> None:
    client = client_for(supervisor)
    customer = client.get(f"/api/v1/customers/{acc.customer_id}").json()
    assert customer["phones"][0]["number"] == "13912345678"
    bills = client.get("/api/v1/customers/accounts/3302765432/bills").json()
    assert [b["volume"] for b in bills] == ["25.000", "20.000"]
    assert bills[0]["lines"][0]["kind"] in {"water", "sewage"}
    assert D(bills[0]["total"]) == D("75.00")
    missing = client.get("/api/v1/customers/999999")
    assert missing.status_code == 404
    assert "999999" in missing.json()["detail"]
    assert client.get("/api/v1/customers/accounts/000/bills").status_code == 404
    assert client.get("/api/v1/customers/not-a-number").status_code in {404, 422}


def test_api_invoice_pdf(acc: Account, agent: Any) -> None:
    bill = acc.bills.order_by("period_end").first()
    assert bill is not None
    services.payment_record(actor=SYSTEM, bill=bill, amount=bill.total, channel="alipay")
    invoice = services.invoice_issue(actor=SYSTEM, bill=bill)
    response = client_for(agent).get(f"/api/v1/customers/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert client_for(agent).get("/api/v1/customers/invoices/424242/pdf").status_code == 404


def test_search_page_and_fragment(acc: Account, agent: Any) -> None:
    client = client_for(agent)
    page = client.get("/customers/", {"q": "3302765432"})
    assert page.status_code == 200
    assert "陈建国" in page.content.decode()
    assert "<html" in page.content.decode()
    fragment = client.get("/customers/", {"q": "中山东路"}, HTTP_HX_REQUEST="true")
    assert "陈建国" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert client.get("/customers/", {"q": "x" * 5000}).status_code == 200


def test_detail_page_shows_bills_and_tiers(acc: Account, agent: Any) -> None:
    response = client_for(agent).get(f"/customers/{acc.customer_id}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "3302765432" in text
    assert "139****5678" in text
    assert "13912345678" not in text
    assert text.count('data-testid="bill"') == 2
    assert client_for(agent).get("/customers/999999/").status_code == 404


def test_back_office_issues_invoice_from_the_page(acc: Account, make_user: Any, agent: Any) -> None:
    bill = acc.bills.order_by("period_end").first()
    assert bill is not None
    url = f"/customers/bills/{bill.pk}/invoice/"
    assert client_for(agent).post(url).status_code == 403
    back_office = client_for(make_user(Role.BACK_OFFICE))
    response = back_office.post(url, follow=True)
    assert [str(m) for m in response.context["messages"]]  # the refusal is shown
    assert not hasattr(bill, "invoice")
    services.payment_record(actor=SYSTEM, bill=bill, amount=bill.total, channel="bank")
    back_office.post(url)
    bill.refresh_from_db()
    assert bill.invoice.number
    pdf = back_office.get(f"/customers/invoices/{bill.invoice.pk}.pdf")
    assert pdf.content.startswith(b"%PDF")


def test_crew_gets_403_on_pages(make_user: Any) -> None:
    assert client_for(make_user(Role.CREW)).get("/customers/").status_code == 403
