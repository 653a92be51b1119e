"""`{% repair_progress ticket %}`: a case's repair jobs on its page (and wherever an agent
looks a caller's case up): state, crews, arrival and the expected restoration.
`{% pop_repairs pop %}`: the same, one line a job, on the screen pop and the console's
look-up, for the caller's cases and premises."""

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


@register.inclusion_tag("dispatch/_pop_repairs.html", takes_context=True)
def pop_repairs(context: Any, pop: Any) -> dict[str, Any]:
    """The screen pop's repair lines: the open repair jobs on the caller's cases (or the
    incidents they were merged into) or around the caller's premises, with the progress
    and the expected restoration (`selectors.repairs_for_pop`)."""
    from qingquan.dispatch.selectors import repairs_for_pop

    request = context.get("request")
    user = getattr(request, "user", None)
    account_ids = [a.id for c in getattr(pop, "customers", []) for a in c.accounts]
    rows = [r for rs in getattr(pop, "cases", {}).values() for r in rs]
    rows += list(getattr(pop, "phone_cases", []))
    case_ids = {r.ticket.pk for r in rows if r.ticket.is_open}
    case_ids |= {r.ticket.parent_id for r in rows if r.ticket.parent_id and r.ticket.is_open}
    return {"progress": repairs_for_pop(user=user, account_ids=account_ids, case_ids=case_ids)}
