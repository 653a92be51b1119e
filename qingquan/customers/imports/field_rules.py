"""The model rules the CSV importer applies, prepared once per column instead of once per
row: what `Model.clean_fields()` would say about a value, read from the model fields'
own metadata (max lengths, integer ranges, decimal places), so the two cannot drift.

Each check is a cheap test on the common path; only a value that fails it is handed to the
Django field itself, whose message (translated by Django) is the one reported.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core import validators
from django.core.exceptions import ValidationError


def field_messages(model: Any, name: str, value: Any) -> list[str]:
    """What the model field says about `value` (empty when it accepts it)."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        return list(exc.messages)
    return []


class Text:
    """A CharField: its max_length (blank is checked by the importer's required columns)."""

    def __init__(self, model: Any, name: str) -> None:
        self.model, self.name = model, name
        field = model._meta.get_field(name)
        self.max_length: int = field.max_length
        self.blank: bool = field.blank

    def check(self, value: str, errors: dict[str, list[str]], column: str = "") -> None:
        if len(value) > self.max_length or (not value and not self.blank):
            errors.setdefault(column or self.name, []).extend(
                field_messages(self.model, self.name, value)
            )


class Whole:
    """An integer field's range (PositiveSmallIntegerField: 0…32767 on every database)."""

    def __init__(self, model: Any, name: str) -> None:
        self.model, self.name = model, name
        low, high = -(2**63), 2**63 - 1
        for v in model._meta.get_field(name).validators:
            if isinstance(v, validators.MinValueValidator):
                low = max(low, v.limit_value)
            elif isinstance(v, validators.MaxValueValidator):
                high = min(high, v.limit_value)
        self.low, self.high = low, high

    def check(self, value: int, errors: dict[str, list[str]]) -> None:
        if not self.low <= value <= self.high:
            errors.setdefault(self.name, []).extend(field_messages(self.model, self.name, value))


class Number:
    """A DecimalField: max_digits and decimal_places, as DecimalValidator counts them."""

    def __init__(self, model: Any, name: str) -> None:
        self.model, self.name = model, name
        field = model._meta.get_field(name)
        self.places: int = field.decimal_places
        self.whole: int = field.max_digits - field.decimal_places

    def check(self, value: Decimal, errors: dict[str, list[str]]) -> None:
        _sign, digit_tuple, exponent = value.as_tuple()
        ok = isinstance(exponent, int)
        if ok:
            # DecimalValidator's count of digits and decimals.
            if exponent >= 0:  # type: ignore[operator]
                digits = 0 if digit_tuple == (0,) else len(digit_tuple) + exponent  # type: ignore[operator]
                decimals = 0
            elif -exponent > len(digit_tuple):  # type: ignore[operator]
                digits = decimals = -exponent  # type: ignore[operator]
            else:
                digits, decimals = len(digit_tuple), -exponent  # type: ignore[operator]
            ok = decimals <= self.places and digits - decimals <= self.whole
        if not ok:
            errors.setdefault(self.name, []).extend(field_messages(self.model, self.name, value))
