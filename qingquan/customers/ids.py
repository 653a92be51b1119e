"""Chinese identifiers: the unified social credit code (统一社会信用代码) of organisations and
the resident identity card number (居民身份证号) of persons, checked with python-stdnum."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError


def clean_uscc(value: str) -> str:
    """The code in its compact form, or ValidationError naming what is wrong."""
    try:
        return str(uscc.validate(value))
    except StdnumError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid unified social credit code (%(reason)s).")
            % {"value": value, "reason": str(exc)}
        ) from exc


def clean_ric(value: str) -> str:
    """The ID number in its compact form, or ValidationError naming what is wrong."""
    try:
        return str(ric.validate(value))
    except StdnumError as exc:
        raise ValidationError(
            _("“%(value)s” is not a valid resident ID number (%(reason)s).")
            % {"value": value, "reason": str(exc)}
        ) from exc
