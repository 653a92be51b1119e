"""`{% repair_progress ticket %}`: a case's repair jobs on its page (and wherever an agent
looks a caller's case up): state, crews, arrival and the expected restoration."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("dispatch/_progress.html", takes_context=True)
def repair_progress(context: Any, ticket: Any) -> dict[str, Any]:
    from qingquan.dispatch.selectors import progress_for_case

    request = context.get("request")
    user = getattr(request, "user", None)
    return {"progress": progress_for_case(user=user, ticket=ticket) if ticket is not None else []}
