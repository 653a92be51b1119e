"""Phone normalisation and masking; USCC and resident ID validation on the customer."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import uscc

from qingquan.customers import phones
from qingquan.customers.models import Customer, CustomerKind, CustomerPhone

VALID_USCC = "91110000600037341L"


@pytest.mark.parametrize(
    ("raw", "e164", "digits"),
    [
        ("+86 138 0000 5678", "+8613800005678", "13800005678"),
        ("13800005678", "+8613800005678", "13800005678"),
        ("138-0000-5678", "+8613800005678", "13800005678"),
        ("008613800005678", "+8613800005678", "13800005678"),
        ("0574-87654321", "+8657487654321", "057487654321"),
        ("(0574) 8765 4321", "+8657487654321", "057487654321"),
        ("87654321", "+8657487654321", "057487654321"),
        ("8765 4321", "+8657487654321", "057487654321"),
        ("010-62345678", "+861062345678", "01062345678"),
    ],
)
def test_phone_forms_normalise_to_one_number(raw: str, e164: str, digits: str) -> None:
    assert phones.normalise(raw) == (e164, digits)


@pytest.mark.parametrize("raw", ["", "12345", "abc", "1380000567", "+1 202 555 01"])
def test_invalid_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        phones.normalise(raw)
    assert phones.try_normalise(raw) is None


def test_mask_keeps_first_three_and_last_four() -> None:
    assert phones.mask("13800005678") == "138****5678"
    assert phones.mask("057487654321") == "057*****4321"
    assert phones.mask("12345") == "*****"


def test_phone_clean_stores_both_forms() -> None:
    phone = CustomerPhone(number="138 0000 5678")
    phone.clean()
    assert phone.number == "+8613800005678"
    assert phone.national_digits == "13800005678"
    assert phone.masked == "138****5678"


def test_bad_phone_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as exc:
        CustomerPhone(number="12").clean()
    assert "number" in exc.value.message_dict


def test_organisation_needs_a_valid_uscc() -> None:
    org = Customer(kind=CustomerKind.ORGANISATION, name="宁波某某有限公司")
    with pytest.raises(ValidationError) as exc:
        org.clean()
    assert "uscc" in exc.value.message_dict
    broken = VALID_USCC[:-1] + ("0" if VALID_USCC[-1] != "0" else "1")
    org.uscc = broken
    with pytest.raises(ValidationError) as exc:
        org.clean()
    assert "uscc" in exc.value.message_dict
    org.uscc = VALID_USCC.lower()
    org.clean()
    assert org.uscc == VALID_USCC


def test_generated_uscc_check_digit_validates() -> None:
    body = "91330200MA2" + "ABCDE0"
    code = body + uscc.calc_check_digit(body)
    Customer(kind=CustomerKind.ORGANISATION, name="x", uscc=code).clean()


def test_person_id_number_is_checked_and_person_has_no_uscc() -> None:
    person = Customer(kind=CustomerKind.PERSON, name="张三", id_number="11010519491231002X")
    person.clean()
    person.id_number = "110105194912310021"
    with pytest.raises(ValidationError) as exc:
        person.clean()
    assert "id_number" in exc.value.message_dict
    person.id_number = ""
    person.uscc = VALID_USCC
    with pytest.raises(ValidationError) as exc:
        person.clean()
    assert "uscc" in exc.value.message_dict
