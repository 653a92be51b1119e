"""Every URL pattern of the project, filled with the seeded records' keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from qingquan.core.exposure.seeding import Seeded


# URL patterns --------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    route: str  # the pattern as written, e.g. "customers/<int:customer_id>/"
    name: str  # "namespace:name" (or "" when unnamed)
    params: tuple[str, ...]


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def patterns() -> list[Pattern]:
    """Every URL pattern of the project, once per route (an API path answering GET and
    POST is one row)."""
    seen: dict[str, Pattern] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Pattern]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                params = tuple(a or b for a, b in _PARAM.findall(route))
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                yield Pattern(route=route, name=name or "", params=params)

    for pattern in walk(get_resolver(), "", ""):
        seen.setdefault(pattern.route, pattern)
    return list(seen.values())


class Unresolved(Exception):
    """A URL parameter this module does not know how to fill (a new pattern)."""


class NoRecord(Exception):
    """The parameter's kind of record does not exist in the database (nothing to show)."""


def _admin_model(route: str) -> Any:
    from django.apps import apps

    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    try:
        return apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return None


def _first(model: Any, seeded: Seeded) -> Any:
    obj = seeded.objects.get(model._meta.label_lower)
    return obj if obj is not None else model.objects.order_by("pk").first()


def _value(pattern: Pattern, param: str, seeded: Seeded) -> str:
    from qingquan.knowledge.models import Article
    from qingquan.notices.models import Notice, Subscription
    from qingquan.payments.models import PaymentOrder, Refund
    from qingquan.surveys.models import CallbackTask

    o = seeded.objects
    notice = lambda: _pk(Notice.objects.order_by("pk").first())  # noqa: E731
    simple: dict[str, Callable[[], Any]] = {
        "customer_id": lambda: o["customers.customer"].pk,
        "invoice_id": lambda: o["customers.invoice"].pk,
        "bill_id": lambda: o["customers.bill"].pk,
        "number": lambda: (
            _connection_number()
            if pattern.route.startswith(("connections/", "portal/connections/"))
            else o["customers.account"].number
            if "accounts" in pattern.route
            else _notice_number()
            if pattern.route.startswith("public/notices/")
            else o["tickets.ticket"].number
        ),
        "account_number": lambda: o["customers.account"].number,
        "call_id": lambda: o["telephony.call"].pk,
        "contact_id": lambda: o["tickets.contact"].pk,
        "fmt": lambda: "json",
        "code": lambda: o["tickets.ticket"].kind.code,
        "request_id": lambda: o["open311"].ticket.number,
        "token_id": lambda: o["open311"].token,
        "app_label": lambda: "customers",
        "url": lambda: "customers/customer/",
        "content_type_id": lambda: _content_type(o["customers.customer"]),
        "task_id": lambda: _pk(CallbackTask.objects.order_by("pk").first()),
        "token": lambda: _survey_token(),
        "article_id": lambda: _pk(Article.objects.order_by("pk").first()),
        "proposal_id": lambda: _pk(_first_revision()),
        "key": lambda: f"intake:contact:{o['tickets.contact'].pk}",  # a console draft
        "run_id": lambda: _pk(_hydraulic_run()),
        "notice_id": notice,
        "subscription_id": lambda: _pk(Subscription.objects.order_by("pk").first()),
        "step": lambda: "submit",  # a notice's lifecycle step (POST only)
        "action": lambda: "submit",
        "bill": lambda: o["customers.bill"].pk,  # the portal's e-invoice of a bill
        "provider": lambda: "sandbox",
        "account_id": lambda: o["customers.account"].pk,  # the console's payment QR
        "refund_id": lambda: _pk(Refund.objects.order_by("pk").first()),
        "out_trade_no": lambda: str(PaymentOrder.objects.order_by("pk").first() or _pk(None)),
    }
    if param == "object_id":
        model = _admin_model(pattern.route)
        if model is None:  # the admin's "view on site" shortcut
            return str(o["customers.customer"].pk)
        return str(_pk(_first(model, seeded)))
    if param == "pk":
        return _pk_value(pattern, seeded, notice)
    if param not in simple:
        raise Unresolved(f"{pattern.route}: {param}")
    return str(simple[param]())


def _pk_value(pattern: Pattern, seeded: Seeded, notice: Callable[[], Any]) -> str:
    """The `pk` of a URL, by the route's prefix."""
    from qingquan.console.models import Attachment
    from qingquan.knowledge.models import Article
    from qingquan.payments.models import PaperDelivery, Reconciliation, Refund
    from qingquan.portal.models import RepairPhoto
    from qingquan.surveys.models import CallbackTask

    o = seeded.objects
    by_prefix = {
        "console/files/": lambda: _pk(Attachment.objects.order_by("pk").first()),
        "knowledge/review/": lambda: _pk(_first_revision()),
        "knowledge/": lambda: _pk(Article.objects.order_by("pk").first()),
        "callbacks/": lambda: _pk(CallbackTask.objects.order_by("pk").first()),
        "connections/calls/": lambda: _pk(_first_model("connections.ManagerCall")),
        "notices/": notice,
        # The online hall's own pages answer staff with its login, whatever the pk.
        "portal/accounts/": lambda: o["customers.account"].pk,
        "portal/photos/": lambda: _pk(RepairPhoto.objects.order_by("pk").first()),
        "payments/staff/refunds/": lambda: _pk(Refund.objects.order_by("pk").first()),
        "payments/staff/reconciliation/": lambda: _pk(
            Reconciliation.objects.order_by("pk").first()
        ),
        "payments/staff/paper/": lambda: _pk(PaperDelivery.objects.order_by("pk").first()),
        "messaging/inbox/": lambda: o["messaging.inbound"].pk,
        "assist/": lambda: o["portal.appointment"].pk,
        "counter/signatures/": lambda: _pk(_counter_case()),
    }
    for prefix, get in by_prefix.items():
        if pattern.route.startswith(prefix):
            return str(get())
    raise Unresolved(f"{pattern.route}: pk")


def _first_model(label: str) -> Any:
    from django.apps import apps

    return apps.get_model(label).objects.order_by("pk").first()


def _connection_number() -> str:
    return str(_first_model("connections.Application") or _pk(None))


def _counter_case() -> Any:
    from qingquan.portal.models import CounterCase

    return CounterCase.objects.exclude(signature="").order_by("pk").first()


def _notice_number() -> str:
    from qingquan.notices.models import Notice

    first = Notice.objects.order_by("pk").first()
    if first is None:
        raise NoRecord()
    return first.number


def _hydraulic_run() -> Any:
    from qingquan.network.models import HydraulicRun

    return HydraulicRun.objects.exclude(pipe="").order_by("pk").first()


def _pk(obj: Any) -> Any:
    if obj is None:
        raise NoRecord()
    return obj.pk


def _content_type(obj: Any) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


def _first_revision() -> Any:
    from qingquan.knowledge.models import ArticleRevision as Revision

    return Revision.objects.order_by("pk").first()


def _survey_token() -> str:
    from qingquan.surveys.models import CallbackTask
    from qingquan.surveys.services import survey_token

    task = CallbackTask.objects.order_by("pk").first()
    if task is None:
        raise NoRecord()
    return str(survey_token(task))


def url_of(pattern: Pattern, seeded: Seeded) -> str:
    """A concrete URL for `pattern`, parameters filled from seeded (or existing) records."""
    route = pattern.route
    for param in pattern.params:
        value = _value(pattern, param, seeded)
        route = re.sub(
            r"<(?:\w+:)?" + param + r">|\(\?P<" + param + r">[^)]*\)", value, route, count=1
        )
    route = route.replace("^", "").replace("$", "").replace("\\.", ".")
    return "/" + route
