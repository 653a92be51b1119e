"""`{% shown value "phone" of=record %}`: personal data in a template, through
`customers.privacy.shown` for the user of the page."""

from __future__ import annotations

from typing import Any

from django import template

from qingquan.customers import privacy

register = template.Library()


@register.simple_tag(takes_context=True)
def shown(context: Any, value: Any, kind: str = privacy.Kind.PHONE, of: Any = None) -> str:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return privacy.shown(str(value or ""), user=user, kind=kind, of=of)
