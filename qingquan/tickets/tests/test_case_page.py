"""Any hotline agent opens any case's page (a repeat caller); the steps stay the owner's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.tickets.models import Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    return client


def test_an_agent_opens_a_case_someone_else_owns_but_cannot_act_on_it(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation", subject="咨询水价")
    other = client_for(people["agent2"])
    page = other.get(f"/cases/{case.number}/")
    assert page.status_code == 200
    assert "咨询水价" in page.content.decode()
    assert page.context["actions"] == []  # not the owner, not a handler
    response = other.post(
        f"/cases/{case.number}/act/",
        {"action": "resolve", "version": "1", "resolution": "已答复"},
        follow=True,
    )
    assert response.status_code == 200
    assert Ticket.objects.get(pk=case.pk).state == "received"
    assert "may not" in response.content.decode()
    # The owner's page offers the steps.
    assert "resolve" in client_for(people["agent"]).get(f"/cases/{case.number}/").context["actions"]


def test_staff_without_look_up_still_see_only_their_cases(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    assert client_for(people["crew"]).get(f"/cases/{case.number}/").status_code == 404
    assert client_for(people["agent2"]).get("/cases/20990101-0001/").status_code == 404
