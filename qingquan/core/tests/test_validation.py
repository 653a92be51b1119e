"""The platform's input rules (core.validation): phones, e-mails, text, datetimes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, StringConstraints
from pydantic import ValidationError as PydanticError

from qingquan.core import validation as vd


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits (an input method's)
        ("＋８６　１３８００１３８０００", "+8613800138000"),  # full-width + and space
        ("0574-87654321", "+8657487654321"),  # Ningbo landline with its area code
        ("87654321", "+8657487654321"),  # a bare local number is a Ningbo landline
        ("(010) 6512 3456", "+861065123456"),  # Beijing, with its area code
        ("", ""),
    ],
)
def test_phone_numbers_are_stored_e164(typed: str, stored: str) -> None:
    assert vd.clean_phone(typed, field="caller_phone") == stored


@pytest.mark.parametrize(
    "typed",
    [
        "abc",
        "1" * 21,
        "123456789012345678901",
        "<b>13800138000</b>",
        "13800138000<script>",
        "400-CALL-NOW",  # letters would be read as a keypad
        "1380013800",  # one digit short
        "138001380001",  # one digit too many
        "13800138000 ext. 12",
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits: not what anyone types here
        "1" * 41,
    ],
)
def test_what_is_not_a_phone_number_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(ValidationError) as caught:
        vd.clean_phone(typed, field="caller_phone")
    assert caught.value.messages[0].startswith("caller_phone")


@pytest.mark.parametrize(
    "value", ["wang@example.com", "a.b+c@mail.example.cn", "", "  x@example.org  "]
)
def test_email_accepted(value: str) -> None:
    assert vd.clean_email(value, field="email") == value.strip()


@pytest.mark.parametrize(
    "value", ["not-an-email", "a@b", "a@@example.com", "<a@example.com>", "a" * 250 + "@x.com"]
)
def test_email_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="email"):
        vd.clean_email(value, field="email")


def test_text_over_its_limit_is_refused_with_the_field_and_limit_never_cut() -> None:
    assert vd.clean_text("x" * 200, field="subject", max_length=200) == "x" * 200
    with pytest.raises(ValidationError) as caught:
        vd.clean_text("x" * 201, field="subject", max_length=200)
    message = caught.value.messages[0]
    assert "subject" in message and "200" in message and "201" in message


@pytest.mark.parametrize(
    "bad", ["a\x00b", "\x07", "a\x1bb", "\x7f", "a\u0085b", "\ud800", "x\udfffy"]
)
def test_control_characters_and_lone_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="subject"):
        vd.clean_text(bad, field="subject", max_length=200)
    with pytest.raises(ValidationError, match="note"):
        vd.clean_text(bad, field="note", max_length=200, multiline=True)


def test_tab_and_new_lines_only_in_free_text() -> None:
    assert vd.clean_text("a\tb\r\nc", field="note", max_length=20, multiline=True) == "a\tb\r\nc"
    with pytest.raises(ValidationError):
        vd.clean_text("a\nb", field="subject", max_length=20)


@given(st.text(max_size=60))
@settings(max_examples=150, deadline=None)
def test_text_is_either_kept_whole_or_refused(value: str) -> None:
    try:
        cleaned = vd.clean_text(value, field="f", max_length=40, multiline=True)
    except ValidationError:
        return
    assert cleaned == value.strip() and len(cleaned) <= 40


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-14))),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))),
        dt.datetime(2100, 1, 2, tzinfo=dt.UTC),
        dt.datetime(1969, 12, 31, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1),  # naive
    ],
)
def test_datetimes_out_of_range_are_refused(moment: dt.datetime) -> None:
    with pytest.raises(ValidationError, match="start_date"):
        vd.check_datetime(moment, field="start_date")


def test_pydantic_types_apply_the_same_rules_and_name_the_field() -> None:
    class Payload(BaseModel):
        subject: Annotated[str, StringConstraints(max_length=10), vd.LINE]
        caller_phone: vd.Phone = ""
        offset: vd.Offset = 0

    assert (
        Payload(subject="ok", caller_phone="１３８００１３８０００").caller_phone
        == "+8613800138000"
    )
    for bad in (
        {"subject": "\ud800"},
        {"subject": "a\x00"},
        {"subject": "x" * 11},
        {"subject": "ok", "caller_phone": "abc"},
        {"subject": "ok", "offset": 2**63},
    ):
        with pytest.raises(PydanticError) as caught:
            Payload(**bad)
        assert caught.value.errors()[0]["loc"][0] in bad
    with pytest.raises(PydanticError, match="caller_phone"):
        Payload(subject="ok", caller_phone="<b>1</b>")
