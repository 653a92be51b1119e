from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """A rate as a percentage with two decimals, or a dash when there is no denominator."""
    return "—" if value is None else f"{value * 100:.2f}%"


@register.filter
def pp(value: float | None) -> str:
    """A change of rate in percentage points, signed."""
    return "—" if value is None else f"{value * 100:+.2f}"


@register.filter
def get(mapping: dict[str, str], key: str) -> str:
    return mapping.get(key, "")
