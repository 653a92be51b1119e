"""Phone normalisation and masking; USCC and resident ID validation on the customer."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

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


# GB 32100-2015: the 18th character of a unified social credit code is a check over the
# first 17, weighted 3^i mod 31 over the code's 31 characters. Written out here so that the
# tests do not take python-stdnum's word for what the code accepts.
USCC_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_digit_ok(code: str) -> bool:
    """True when `code` is 18 characters whose last is GB 32100's check of the others."""
    if len(code) != 18 or any(c not in USCC_CHARACTERS for c in code):
        return False
    total = sum(USCC_CHARACTERS.index(c) * w for c, w in zip(code, USCC_WEIGHTS, strict=False))
    return code[17] == USCC_CHARACTERS[(31 - total % 31) % 31]


# Known-good codes, their check characters worked out by hand from the standard.
@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("91110000600037341", "L"),
        ("91350100M000100Y4", "3"),
        ("91330200MA2ABCDE0", "U"),
    ],
)
def test_uscc_check_characters_are_the_standards(body: str, check: str) -> None:
    assert uscc_check_digit_ok(body + check)
    Customer(kind=CustomerKind.ORGANISATION, name="x", uscc=body + check).clean()
    for wrong in (c for c in "0AU3L" if c != check):
        with pytest.raises(ValidationError):
            Customer(kind=CustomerKind.ORGANISATION, name="x", uscc=body + wrong).clean()


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
