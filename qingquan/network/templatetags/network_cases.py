"""The network's parts of other apps' pages: a repair case's place on the network (the
case pages) and the screen pop's "inside the isolated area of incident X" lines. Tags,
so that `tickets` and `console` views need not know the network."""

from __future__ import annotations

from typing import Any

from django import template

from qingquan.network import selectors

register = template.Library()


@register.inclusion_tag("network/_case_place.html", takes_context=True)
def case_network(context: dict[str, Any], ticket: Any) -> dict[str, Any]:
    """The case's pipe, segment, affected customers, open incidents and merge offers (the
    page already checked that the reader may see the case)."""
    user = context["request"].user
    return {
        "place": selectors.case_place(user=user, ticket=ticket),
        "ticket": ticket,
        "window": round(selectors.merge_window_hours()),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("network/_pop_incidents.html", takes_context=True)
def pop_incidents(context: dict[str, Any], pop: Any) -> dict[str, Any]:
    """The caller's addresses that lie in the isolated area of an open incident."""
    user = context["request"].user
    ids = [a.id for c in getattr(pop, "customers", []) for a in c.accounts]
    return {"lines": selectors.incidents_at_accounts(user=user, account_ids=ids)}


@register.inclusion_tag("network/_pin_map.html", takes_context=True)
def case_pin_map(context: dict[str, Any], values: Any = None) -> dict[str, Any]:
    """The new-case form's map pin for a repair: the network's pipes as the map, a click
    sets the hidden longitude and latitude fields (`pin_lon`, `pin_lat`) that the form
    places on the network with the case. Nothing without a network."""
    values = values or {}
    return {
        "pin": selectors.pin_map_config(user=context["request"].user),
        "lon": values.get("pin_lon", ""),
        "lat": values.get("pin_lat", ""),
    }
