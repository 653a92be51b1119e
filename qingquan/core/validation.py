"""Input rules, the same on every interface (staff API, partner API, Open311, HTML forms).

One module, three faces over the same checks:
- plain functions (`clean_text`, `clean_phone`, `clean_email`, `clean_url`,
  `check_datetime`) that services and views call; they raise Django's `ValidationError`
  with a message naming the field (and its limit), code and params;
- pydantic types (`Text`, `OptionalPhone`, `Email`, `Offset`, ...) for the django-ninja
  schemas, so a request is refused at the edge with a 422 naming the field and limit, and
  the OpenAPI schema publishes the limits;
- Django validators (`text_validator`, `validate_phone`) for forms and model fields.

The rules (docs/api.md, "Input rules"):
- Nothing is ever cut: text longer than its field's limit is refused.
- Control characters are refused (tab, line feed and carriage return are allowed in
  free text only), and so are lone UTF-16 surrogates, which no database can store.
- Phone numbers are parsed by `phonenumbers` with mainland China as the default region;
  a bare 7–8 digit number is a Ningbo landline (the hotline's callers give it without the
  area code), other landlines need their area code; the number is stored in E.164
  (+8613800138000). Full-width digits and separators (what a Chinese input method types)
  are read as their ASCII forms (NFKC); letters, markup or other symbols are refused.
- E-mail addresses are checked by Django's validator (at most 254 characters).
- Datetimes must fall between 1970 and 2100; paging offsets and page numbers are bounded.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

# Limits (characters) shared by every interface; the models' columns are at least this wide.
SUBJECT = 200
TEXT = 4000  # descriptions, notes, reasons, resolutions
NAME = 60
ADDRESS = 200
PHONE = 40  # as typed, before normalising
EMAIL = 254
URL = 500
ID = 100  # external ids, address ids
MAX_OFFSET = 1_000_000
MAX_PAGE = 100_000
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

REGION = "CN"
LOCAL_AREA_CODE = "0574"  # Ningbo
_SEPARATORS = re.compile(r"[\s\-().\u3000]+")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")
# What a phone number may contain once full-width forms are folded: digits, a leading +,
# and separators. Anything else (letters, which phonenumbers would read as a keypad, or
# markup around a number) is refused rather than stripped.
_PHONE_CHARS = re.compile(r"^\+?[0-9\s\-().]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _invalid(message: str, code: str, field: str, **params: Any) -> ValidationError:
    return ValidationError(message, code=code, params={"field": field, **params})


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def clean_text(
    value: str | None,
    *,
    field: str,
    max_length: int,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """`value` without surrounding white space, or ValidationError: longer than
    `max_length`, a control character (tab/LF/CR allowed when `multiline`), a lone
    surrogate, or empty when `required`."""
    text = (value or "").strip()
    if _SURROGATE.search(text):
        raise _invalid(
            _("%(field)s contains an invalid character (a lone surrogate).") % {"field": field},
            "surrogate",
            field,
        )
    if (_CONTROL if multiline else _CONTROL_LINE).search(text):
        raise _invalid(
            _("%(field)s contains a control character.") % {"field": field}, "control", field
        )
    if len(text) > max_length:
        raise _invalid(
            _("%(field)s is too long: at most %(limit)d characters (it has %(length)d).")
            % {"field": field, "limit": max_length, "length": len(text)},
            "max_length",
            field,
            limit=max_length,
        )
    if required and not text:
        raise _invalid(_("%(field)s is required.") % {"field": field}, "required", field)
    return text


def text_validator(
    *, field: str, max_length: int, multiline: bool = False
) -> Callable[[Any], None]:
    """A Django validator (forms, model fields) applying `clean_text`."""

    def validate(value: Any) -> None:
        clean_text(str(value), field=field, max_length=max_length, multiline=multiline)

    return validate


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------


def clean_input(raw: str) -> str:
    """What was typed, without spaces, dashes, dots or brackets (full-width space too)."""
    return _SEPARATORS.sub("", raw or "")


def parse_phone(raw: str) -> phonenumbers.PhoneNumber:
    """Parse a Chinese phone number in any common form; ValidationError if it is not one."""
    folded = unicodedata.normalize("NFKC", raw or "").strip()
    if not _PHONE_CHARS.match(folded):
        raise ValidationError(
            _("“%(value)s” is not a phone number.") % {"value": raw}, code="phone"
        )
    text = clean_input(folded)
    if text.startswith("0086"):
        text = "+86" + text[4:]
    if _LOCAL.match(text):
        text = LOCAL_AREA_CODE + text
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number.") % {"value": raw}, code="phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number.") % {"value": raw}, code="phone"
        )
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_phone(value: str | None, *, field: str) -> str:
    """The number in E.164 ("" for no number), or ValidationError naming the field."""
    text = clean_text(value, field=field, max_length=PHONE)
    if not text:
        return ""
    try:
        return e164(parse_phone(text))
    except ValidationError as exc:
        raise _invalid(f"{field}: {exc.messages[0]}", "phone", field) from None


def validate_phone(value: Any) -> None:
    """A Django validator: `value` is a phone number `clean_phone` accepts."""
    clean_phone(str(value), field=_("phone"))


# ---------------------------------------------------------------------------
# E-mail, URL, datetimes
# ---------------------------------------------------------------------------


def clean_email(value: str | None, *, field: str) -> str:
    """A valid e-mail address ("" for none), or ValidationError naming the field."""
    text = clean_text(value, field=field, max_length=EMAIL)
    if not text:
        return ""
    try:
        validate_email(text)
    except ValidationError:
        raise _invalid(
            _("%(field)s is not a valid e-mail address.") % {"field": field}, "email", field
        ) from None
    return text


def clean_url(value: str | None, *, field: str, max_length: int = URL) -> str:
    """An http(s) URL of at most `max_length` characters ("" for none)."""
    text = clean_text(value, field=field, max_length=max_length)
    if text and not re.match(r"^https?://[^\s/]+", text):
        raise _invalid(_("%(field)s must be an http(s) URL.") % {"field": field}, "url", field)
    return text


def check_datetime(value: dt.datetime, *, field: str) -> dt.datetime:
    """`value` if it lies between 1970 and 2100 (and is aware), else ValidationError."""
    if value.tzinfo is None:
        raise _invalid(
            _("%(field)s needs a UTC offset, e.g. 2026-11-28T09:00:00+08:00.") % {"field": field},
            "naive",
            field,
        )
    try:
        inside = EARLIEST <= value <= LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise _invalid(
            _("%(field)s is out of range (1970 to 2100).") % {"field": field}, "range", field
        )
    return value


# ---------------------------------------------------------------------------
# pydantic types for the django-ninja schemas
# ---------------------------------------------------------------------------


def _pydantic(check: Callable[[Any, str], Any]) -> Callable[[Any, ValidationInfo], Any]:
    """Run a check with the schema field's name, answering its ValidationError as pydantic's
    (one 422 entry whose message names the field and its limit)."""

    def run(value: Any, info: ValidationInfo) -> Any:
        try:
            return check(value, info.field_name or "value")
        except ValidationError as exc:
            raise PydanticCustomError(exc.code or "invalid", exc.messages[0]) from None

    return run


def _line(value: str, field: str) -> str:
    return clean_text(value, field=field, max_length=len(value) or 1)


def _free(value: str, field: str) -> str:
    return clean_text(value, field=field, max_length=len(value) or 1, multiline=True)


# Markers for text fields (the length goes in StringConstraints, so the OpenAPI schema
# publishes it): LINE refuses every control character, FREE allows tab and new lines.
# Either way lone surrogates are refused and the value is trimmed.
LINE = AfterValidator(_pydantic(_line))
FREE = AfterValidator(_pydantic(_free))
Subject = Annotated[str, StringConstraints(min_length=1, max_length=SUBJECT), LINE]
Name = Annotated[str, StringConstraints(max_length=NAME), LINE]
Address = Annotated[str, StringConstraints(max_length=ADDRESS), LINE]
ExternalId = Annotated[str, StringConstraints(max_length=ID), LINE]
Note = Annotated[str, StringConstraints(max_length=TEXT), FREE]
RequiredNote = Annotated[str, StringConstraints(min_length=1, max_length=TEXT), FREE]


def _phone(value: str, field: str) -> str:
    return clean_phone(value, field=field)


def _email(value: str, field: str) -> str:
    return clean_email(value, field=field)


def _aware_in_range(value: dt.datetime, field: str) -> dt.datetime:
    return check_datetime(value, field=field)


Phone = Annotated[
    str,
    StringConstraints(max_length=PHONE),
    AfterValidator(_pydantic(_phone)),
    Field(description="A phone number (mainland China by default), stored as E.164"),
]
Email = Annotated[str, StringConstraints(max_length=EMAIL), AfterValidator(_pydantic(_email))]
Datetime = Annotated[dt.datetime, AfterValidator(_pydantic(_aware_in_range))]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Page = Annotated[int, Field(ge=1, le=MAX_PAGE)]
