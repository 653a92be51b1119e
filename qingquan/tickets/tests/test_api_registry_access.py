"""The staff API links a case or contact to a customer, account or premise only through
the customer selectors: a role that may not see the registry gets 403, an unknown key 400."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core.access import AccessDenied
from qingquan.customers import selectors as customer_selectors
from qingquan.customers.tests import factories
from qingquan.staff import access
from qingquan.staff.roles import Role

from .test_api import client_for, post

pytestmark = pytest.mark.django_db

CASE = {"kind": "repair-leak", "channel": "phone", "subject": "楼道漏水"}


@pytest.fixture
def household() -> Any:
    return factories.account()


@pytest.fixture
def agents_without_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A role table in which agents keep `tickets.create` but lose `customers.view`."""
    narrowed = access.CAPABILITIES["customers.view"] - {Role.AGENT}
    monkeypatch.setitem(access.CAPABILITIES, "customers.view", narrowed)


def test_the_registry_links_a_case_for_a_role_that_may_see_it(people: Any, household: Any) -> None:
    api = client_for(people["agent"])
    keys = {
        "customer_id": household.customer_id,
        "account_id": household.pk,
        "premise_id": household.premise_id,
    }
    response = post(api, "", {**CASE, **keys})
    assert response.status_code == 201, response.content
    assert post(api, "", {**CASE, "account_id": 10**9}).status_code == 400


@pytest.mark.parametrize(
    "field", ["customer_id", "account_id", "premise_id", "contact customer_id"]
)
def test_a_role_without_the_registry_gets_403_not_the_record(
    people: Any, household: Any, agents_without_the_registry: None, field: str
) -> None:
    api = client_for(people["agent"])
    if field == "contact customer_id":
        response = post(
            api, "/contacts", {"channel": "phone", "customer_id": household.customer_id}
        )
    else:
        key = {
            "customer_id": household.customer_id,
            "account_id": household.pk,
            "premise_id": household.premise_id,
        }[field]
        response = post(api, "", {**CASE, field: key})
    assert response.status_code == 403, response.content
    assert "customers.view" in response.json()["detail"]


def test_the_selector_refuses_a_role_without_customers_view(people: Any, household: Any) -> None:
    crew = people["crew"]
    assert not access.can(crew, "customers.view")
    with pytest.raises(AccessDenied):
        customer_selectors.registry_record(user=crew, kind="account", pk=household.pk)
    found = customer_selectors.registry_record(
        user=people["agent"], kind="premise", pk=household.premise_id
    )
    assert found is not None and found.pk == household.premise_id
