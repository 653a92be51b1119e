"""`{% active_notices pop as notices %}`: the active interruption notices of a screen pop
(kept here so the console's own code is untouched)."""

from __future__ import annotations

from typing import Any

from django import template

from qingquan.notices.selectors import active_for_pop

register = template.Library()


@register.simple_tag
def active_notices(pop: Any) -> list[Any]:
    return active_for_pop(pop)
