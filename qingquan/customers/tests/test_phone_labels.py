"""A phone number added without a label is labelled by what it is (landline or mobile)."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.customers import services
from qingquan.customers.models import CustomerKind, PhoneLabel

pytestmark = pytest.mark.django_db


def test_a_landline_is_never_labelled_mobile(administrator: Any) -> None:
    person = services.customer_create(
        actor=administrator, name="王芳", phone_numbers=["0574-87654321", "13805741234"]
    )
    labels = {p.national_digits: p.label for p in person.phones.all()}
    assert labels == {"057487654321": PhoneLabel.HOME, "13805741234": PhoneLabel.MOBILE}
    firm = services.customer_create(
        actor=administrator,
        kind=CustomerKind.ORGANISATION,
        name="宁波某某有限公司",
        uscc="91110000600037341L",
        phone_numbers=["87654322"],
    )
    assert firm.phones.get().label == PhoneLabel.WORK
    # A label chosen by the user stays.
    phone = services.phone_add(
        actor=administrator, customer=person, number="0574-87111111", label=PhoneLabel.WORK
    )
    assert phone.label == PhoneLabel.WORK
