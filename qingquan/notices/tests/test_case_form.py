"""The staff case form (/cases/new/): a caller identified as a customer, account or premise
inside an active notice — or calling from a number it reached — sees the notice first,
above the look-up and the form; the case keeps the chosen customer, account and premise."""

from __future__ import annotations

import pytest

from qingquan.notices import services
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(town, supervisor, draft, make_user, client):
    services.notice_submit(actor=supervisor, notice=draft)
    services.notice_approve(actor=supervisor, notice=draft)
    client.force_login(make_user(Role.AGENT))
    return client


def _page(client, **params) -> str:
    answer = client.get("/cases/new/", params)
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_notice_comes_first_for_a_caller_inside_it(agent_client, town, draft):
    page = _page(agent_client, account_number="3302990002")
    assert 'data-testid="case-notice"' in page and draft.title in page
    assert page.index('data-testid="case-notice"') < page.index('data-testid="find-caller"')
    assert page.index('data-testid="case-notice"') < page.index('data-testid="new-case"')
    assert "王小明" in page[page.index('data-testid="chosen-caller"') :]
    wang, place = town["wang"], town["place"]
    assert draft.title in _page(agent_client, customer=wang.pk)
    assert draft.title in _page(agent_client, premise=place.pk)
    assert draft.title in _page(agent_client, account=town["accounts"][2].pk)
    assert draft.title in _page(agent_client, caller_phone="139 0000 0003")


def test_no_notice_outside_and_bad_choices_are_messages(agent_client, town, draft):
    for params in (
        {"account_number": "3302990009"},
        {"customer": "987654"},
        {"account": "abc"},
        {"premise": "9" * 30},
        {},
    ):
        assert 'data-testid="case-notice"' not in _page(agent_client, **params), params
    page = _page(agent_client, account_number="0000000000")
    assert "0000000000" in page and 'data-testid="chosen-caller"' not in page


def test_the_case_keeps_the_chosen_account(agent_client, town):
    from qingquan.tickets.models import Ticket

    account = town["accounts"][1]
    answer = agent_client.post(
        "/cases/new/",
        {"kind": "consultation", "channel": "phone", "subject": "停水咨询", "account": account.pk},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert (ticket.account_id, ticket.customer_id, ticket.premise_id) == (
        account.pk,
        account.customer_id,
        account.premise_id,
    )
    assert ticket.address == account.premise.address[:200]


def test_told_from_the_case_form_records_a_contact_and_returns(agent_client, town, draft):
    from qingquan.tickets.models import Contact, Ticket

    answer = agent_client.post(
        f"/notices/{draft.pk}/told/",
        {"customer": town["wang"].pk, "phone": "13900000002", "next": "/cases/new/"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/cases/new/"
    contact = Contact.objects.get()
    assert contact.customer_id == town["wang"].pk and contact.from_address == "+8613900000002"
    assert not Ticket.objects.exists()
