"""`{% active_notices pop as notices %}`: the active interruption notices of a screen pop;
`{% case_notices chosen phone as notices %}`: those of the caller being recorded on the
case form (kept here so the console's and the cases' own code is untouched)."""

from __future__ import annotations

from typing import Any

from django import template

from qingquan.notices.selectors import active_for_case, active_for_pop

register = template.Library()


@register.simple_tag
def active_notices(pop: Any) -> list[Any]:
    return active_for_pop(pop)


@register.simple_tag
def case_notices(chosen: Any, phone: str = "") -> list[Any]:
    """`chosen`: the case form's {"customer", "account", "premise"} (any may be None)."""
    chosen = chosen or {}
    return active_for_case(
        customer=chosen.get("customer"),
        account=chosen.get("account"),
        premise=chosen.get("premise"),
        phone=phone or "",
    )
