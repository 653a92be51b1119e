"""Phone numbers: normalising what callers and agents type, and masking what agents see.

Numbers are stored twice: E.164 (+8613800000000) for dialling, and the digits of the
national form (13800000000, 057487654321) for an indexed equality lookup. A bare 7–8 digit
number is a local Ningbo landline: the hotline's callers give it without the area code.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError

# The parsing rules are the platform's one set of input rules (core.validation): the same
# on every interface, for customers' numbers and callers' numbers on cases alike.
from qingquan.core.validation import LOCAL_AREA_CODE, REGION, clean_input
from qingquan.core.validation import parse_phone as parse

__all__ = ["LOCAL_AREA_CODE", "REGION", "clean_input", "parse"]

_LOCAL = re.compile(r"^[2-9]\d{6,7}$")


def normalise(raw: str) -> tuple[str, str]:
    """(E.164, national digits) of a phone number; ValidationError if it is not valid."""
    number = parse(raw)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return e164, re.sub(r"\D", "", national)


def is_mobile(raw: str) -> bool:
    """True for a mobile number, False for a landline (fixed line) or an invalid number."""
    try:
        number = parse(raw)
    except ValidationError:
        return False
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def try_normalise(raw: str) -> tuple[str, str] | None:
    """Like `normalise`, but None instead of an error (for lookups of free text)."""
    try:
        return normalise(raw)
    except ValidationError:
        return None


def mask(national_digits: str) -> str:
    """The number as an agent without full-number rights sees it: 138****5678."""
    digits = national_digits or ""
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


# The importer's fast path ------------------------------------------------------------------
# Most numbers in a migration are a plain mobile or a Ningbo landline. For those, the answer
# phonenumbers would give is decided by its own CN patterns (read from its metadata, so they
# cannot drift), without parsing; anything else goes through `normalise`.
_CN = phonenumbers.PhoneMetadata.metadata_for_region(REGION)
assert _CN is not None and _CN.general_desc and _CN.mobile and _CN.fixed_line
_GENERAL = re.compile(_CN.general_desc.national_number_pattern or "")
_MOBILE_PATTERN = re.compile(_CN.mobile.national_number_pattern or "")
_FIXED_PATTERN = re.compile(_CN.fixed_line.national_number_pattern or "")
# 179xx and 1[12]xx are carrier prefixes phonenumbers may strip: left to it.
_MOBILE_FORM = re.compile(r"1(?:[3-68-9]\d|7[0-8])\d{8}")
_NINGBO_FORM = re.compile(r"574[2-9]\d{6,7}")
_PLAIN = re.compile(r"[+\d]+")


def normalise_fast(raw: str) -> tuple[str, str]:
    """`normalise`, without parsing for the common forms: 11-digit mobiles and Ningbo
    landlines, with or without +86/0086, spaces or dashes. Same result, same errors."""
    text = raw if _PLAIN.fullmatch(raw or "") else clean_input(raw)
    if text.startswith("0086"):
        national = text[4:]
    elif text.startswith("+86"):
        national = text[3:]
    elif text.startswith("0574"):
        national = text[1:]
    elif _LOCAL.match(text):
        national = "574" + text
    else:
        national = text
    if _MOBILE_FORM.fullmatch(national):
        if _MOBILE_PATTERN.fullmatch(national) and _GENERAL.fullmatch(national):
            return "+86" + national, national
    elif (
        _NINGBO_FORM.fullmatch(national)
        and _FIXED_PATTERN.fullmatch(national)
        and _GENERAL.fullmatch(national)
    ):
        return "+86" + national, "0" + national
    return normalise(raw)
