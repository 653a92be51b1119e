"""Open311 GeoReport v2 endpoints (XML and JSON), under /open311/.

Errors answer the spec's body: a list of {code, description} (JSON) or
<errors><error><code/><description/></error></errors> (XML), with the HTTP status as code:
403 for a missing or invalid api_key, 404 for an unknown service_code, service request,
token or jurisdiction_id, 400 for anything else wrong in the request, 429 past the key's
rate limit (with Retry-After).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from qingquan.core import clock, validation
from qingquan.core.access import AccessDenied
from qingquan.open311 import georeport
from qingquan.open311.georeport import Open311Error
from qingquan.partners import services as partner_services
from qingquan.partners.errors import PartnerError, RateLimited
from qingquan.partners.models import PartnerCase, PartnerClient, Scope
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import OPEN_STATES

MAX_CODES = 100
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _render(fmt: str, root: str, value: Any, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = georeport.to_xml(root, value)
    else:
        body = json.dumps(value, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def _error(fmt: str, status: int, description: str) -> HttpResponse:
    return _render(fmt, "errors", [{"code": status, "description": description}], status)


def _refuse_control_characters(request: HttpRequest) -> None:
    """Every parameter (query and body) under the platform's character rules: control
    characters (tab and new lines allowed: free text) refused with a 400 naming it."""
    for params in (request.GET, request.POST):
        for name, values in params.lists():
            for value in [name, *values]:
                try:
                    validation.clean_text(
                        value, field=name, max_length=len(value) or 1, multiline=True
                    )
                except ValidationError as error:
                    raise Open311Error(400, error.messages[0]) from None


def open311_view(methods: list[str]) -> Callable[..., Any]:
    """Wrap a view: allowed methods, jurisdiction_id check, errors in the spec's format."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @require_http_methods(methods)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            params = request.POST if request.method == "POST" else request.GET
            try:
                _refuse_control_characters(request)
                jurisdiction = params.get("jurisdiction_id", "").strip()
                if jurisdiction and jurisdiction != georeport.JURISDICTION:
                    raise Open311Error(
                        404,
                        _("jurisdiction_id %(j)s is not served here (use %(ours)s).")
                        % {"j": jurisdiction, "ours": georeport.JURISDICTION},
                    )
                return view(request, fmt, **kwargs)
            except Open311Error as exc:
                return _error(fmt, exc.status, exc.description)
            except RateLimited as exc:
                response = _error(fmt, 429, exc.message)
                response["Retry-After"] = str(exc.retry_after)
                return response
            except (PartnerError, TicketError) as exc:
                status = exc.status if exc.status in (400, 403, 404) else 400
                return _error(fmt, status, exc.message)
            except AccessDenied as exc:  # the one access error: the spec's 403 error list
                return _error(fmt, 403, exc.message)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorator


@open311_view(["GET"])
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """Service discovery: where the GeoReport v2 endpoint is and which formats it speaks."""
    base = request.build_absolute_uri(reverse("open311:root"))
    data = {
        "changeset": "2026-11-28T00:00:00+08:00",
        "contact": _("Ningbo water supply hotline 96390"),
        "key_service": _("API keys are issued by the utility's administrators."),
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-28T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _render(fmt, "discovery", data)


@open311_view(["GET"])
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET services: every active case kind as a service."""
    return _render(fmt, "services", georeport.service_list())


@open311_view(["GET"])
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    """GET services/{service_code}: the attributes a request of this service may carry."""
    kind = georeport.kind_by_code(code)
    if kind is None:
        raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": code})
    return _render(fmt, "service_definition", georeport.service_definition(kind))


def _float(params: Any, name: str) -> float | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, _("%(name)s must be a number.") % {"name": name}) from None
    limit = 90 if name == "lat" else 180
    if not -limit <= value <= limit:
        raise Open311Error(400, _("%(name)s is out of range.") % {"name": name})
    return value


def _checked(check: Callable[..., str], params: Any, name: str, **limits: Any) -> str:
    """Parameter `name` through the platform's input rules (core.validation): refused with a
    400 naming it and its limit, never cut."""
    try:
        return check(params.get(name, ""), field=name, **limits)
    except ValidationError as error:
        raise Open311Error(400, error.messages[0]) from None


def _api_key(request: HttpRequest) -> str:
    """The api_key from the form body or, as many clients send it, the query string."""
    return (request.POST.get("api_key") or request.GET.get("api_key") or "").strip()


def _submitter(request: HttpRequest) -> PartnerClient:
    """The client whose api_key came with the request (counted against its rate limit),
    403 without one or without the Open311 scope."""
    api_key = _api_key(request)
    key = partner_services.authenticate(api_key) if api_key else None
    if key is None:
        raise Open311Error(403, _("api_key was not provided or is invalid."))
    partner_services.rate_limit_hit(key=key)
    if not key.client.has_scope(Scope.OPEN311):
        raise Open311Error(403, _("This api_key may not submit Open311 requests."))
    return key.client


def _attributes(params: Any) -> dict[str, str]:
    """The request's attribute[code] values that were given, checked against
    `georeport.ATTRIBUTES` (required ones, allowed values)."""
    attributes: dict[str, str] = {}
    for attribute in georeport.ATTRIBUTES:
        value = _checked(
            validation.clean_text, params, f"attribute[{attribute.code}]", max_length=40
        )
        if attribute.required and not value:
            raise Open311Error(
                400, _("attribute[%(code)s] is required.") % {"code": attribute.code}
            )
        if value and attribute.values and value not in {k for k, _n in attribute.values}:
            raise Open311Error(
                400,
                _("attribute[%(code)s] must be one of %(keys)s.")
                % {"code": attribute.code, "keys": ", ".join(k for k, _n in attribute.values)},
            )
        if value:
            attributes[attribute.code] = value
    return attributes


def _staff_text(
    description: str, lat: float | None, lon: float | None, attributes: dict[str, str]
) -> str:
    """The case's description for staff: what the submitter wrote, where, and the public
    attributes. Their name, phone, e-mail and account are kept apart (case fields,
    `submitter_email`, the linked account), never in text the public list could show."""
    details = [description]
    if lat is not None:
        details.append(_("Location: %(lat)s, %(lon)s") % {"lat": lat, "lon": lon})
    for attribute in georeport.ATTRIBUTES:
        if attribute.code in attributes and not attribute.private:
            details.append(f"{attribute.description}: {attributes[attribute.code]}")
    full = "\n".join(d for d in details if d)
    if len(full) > validation.TEXT:
        room = validation.TEXT - (len(full) - len(description))
        raise Open311Error(
            400,
            _("description is too long: at most %(limit)d characters with the other details.")
            % {"limit": room},
        )
    return full


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.POST
    client = _submitter(request)
    code = _checked(validation.clean_text, params, "service_code", max_length=40)
    if not code:
        raise Open311Error(400, _("service_code was not provided."))
    kind = georeport.kind_by_code(code)
    if kind is None:
        raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": code})
    lat, lon = _float(params, "lat"), _float(params, "long")
    address = _checked(
        validation.clean_text, params, "address_string", max_length=validation.ADDRESS
    )
    address_id = _checked(validation.clean_text, params, "address_id", max_length=validation.ID)
    if (lat is None) != (lon is None):
        raise Open311Error(400, _("Give both lat and long, or neither."))
    if lat is None and not address and not address_id:
        raise Open311Error(
            400, _("A location is required: lat and long, address_string or address_id.")
        )
    attributes = _attributes(params)
    media_url = _checked(validation.clean_url, params, "media_url")
    description = _checked(
        validation.clean_text, params, "description", max_length=validation.TEXT, multiline=True
    )
    first = _checked(validation.clean_text, params, "first_name", max_length=validation.NAME)
    last = _checked(validation.clean_text, params, "last_name", max_length=validation.NAME)
    name = " ".join(x for x in (last, first) if x)
    if len(name) > validation.NAME:
        raise Open311Error(
            400,
            _("first_name and last_name together are too long: at most %(limit)d characters.")
            % {"limit": validation.NAME},
        )
    phone = _checked(validation.clean_phone, params, "phone")
    email = _checked(validation.clean_email, params, "email")
    full = _staff_text(description, lat, lon, attributes)
    account_number = attributes.get("account_number", "")
    if account_number and not account_number.isdigit():
        raise Open311Error(400, _("attribute[account_number] is digits only."))
    partner_case, _created = partner_services.partner_case_create(
        client=client,
        kind=kind,
        subject=_subject(description, kind.name),
        description=full,
        caller_name=name,
        caller_phone=phone,
        address=address,
        account_number=account_number,
        source=PartnerCase.Source.OPEN311,
        latitude=lat,
        longitude=lon,
        address_id=address_id,
        media_url=media_url,
        attributes=attributes,
        public_description=description,
        public_address=address,
        submitter_email=email,
    )
    # GeoReport v2: service_request_id when the request was created at once, a token only
    # when it will be created later; cases are created at once (the token stays readable
    # at GET tokens/{token} for clients that ask).
    data = [
        {
            "service_request_id": partner_case.ticket.number,
            "service_notice": "",
            "account_id": "",
        }
    ]
    return _render(fmt, "service_requests", data, status=201)


def _subject(description: str, fallback: str) -> str:
    """The case's subject: the description's first line, shortened with an ellipsis when
    longer than a subject may be (the description itself is stored whole)."""
    line = description.splitlines()[0].strip() if description else ""
    if not line:
        return str(fallback)
    if len(line) > validation.SUBJECT:
        return line[: validation.SUBJECT - 1] + "…"
    return line


def _parse_date(params: Any, name: str) -> dt.datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Open311Error(
            400,
            _("%(name)s must be a W3C datetime with its offset, e.g. 2026-11-28T09:00:00+08:00.")
            % {"name": name},
        )
    try:
        return validation.check_datetime(value, field=name)
    except ValidationError as error:
        raise Open311Error(400, error.messages[0]) from None


def _public_requests() -> Any:
    return (
        PartnerCase.objects.filter(source=PartnerCase.Source.OPEN311)
        .select_related("ticket", "ticket__kind", "ticket__department")
        .prefetch_related("ticket__events")
    )


def _list(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.GET
    qs = _public_requests()
    ids = [x.strip() for x in params.get("service_request_id", "").split(",") if x.strip()]
    if ids:
        # With ids, the other parameters are ignored (the spec).
        qs = qs.filter(ticket__number__in=ids[: georeport.MAX_REQUESTS])
    else:
        codes = [x.strip() for x in params.get("service_code", "").split(",") if x.strip()]
        if len(codes) > MAX_CODES:
            raise Open311Error(400, _("Give at most %(n)d service codes.") % {"n": MAX_CODES})
        if codes:
            known = set(
                georeport.CaseKind.objects.filter(code__in=codes).values_list("code", flat=True)
            )
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise Open311Error(
                    404, _("service_code %(code)s was not found.") % {"code": ", ".join(unknown)}
                )
            qs = qs.filter(ticket__kind__code__in=codes)
        statuses = [x.strip() for x in params.get("status", "").split(",") if x.strip()]
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error(400, _("status is open, closed, or both separated by a comma."))
        if statuses and set(statuses) != {"open", "closed"}:
            if "open" in statuses:
                qs = qs.filter(ticket__state__in=OPEN_STATES)
            else:
                qs = qs.exclude(ticket__state__in=OPEN_STATES)
        start, end = _parse_date(params, "start_date"), _parse_date(params, "end_date")
        if start and end and end < start:
            raise Open311Error(400, _("end_date is before start_date."))
        if start is None:
            start = (end or clock.now()) - dt.timedelta(days=georeport.DEFAULT_DAYS)
        qs = qs.filter(ticket__created_at__gte=start)
        if end is not None:
            qs = qs.filter(ticket__created_at__lte=end)
    qs = qs.order_by("-ticket__created_at", "-id")[: georeport.MAX_REQUESTS]
    return _render(fmt, "service_requests", [georeport.request_out(pc) for pc in qs])


@open311_view(["GET", "POST"])
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """POST requests (create, form-encoded, api_key required) or GET requests (query)."""
    if request.method == "POST":
        return _create(request, fmt)
    return _list(request, fmt)


@open311_view(["GET"])
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    """GET requests/{service_request_id}: one request, as a one-element list."""
    partner_case = _public_requests().filter(ticket__number=request_id).first()
    if partner_case is None:
        raise Open311Error(404, _("service_request_id %(id)s was not found.") % {"id": request_id})
    return _render(fmt, "service_requests", [georeport.request_out(partner_case)])


@open311_view(["GET"])
def token(request: HttpRequest, fmt: str, token_id: str) -> HttpResponse:
    """GET tokens/{token_id}: the service_request_id a token became."""
    partner_case = (
        PartnerCase.objects.filter(Q(token=token_id), source=PartnerCase.Source.OPEN311)
        .select_related("ticket")
        .first()
    )
    if partner_case is None:
        raise Open311Error(404, _("token %(token)s was not found.") % {"token": token_id})
    data = [{"service_request_id": partner_case.ticket.number, "token": partner_case.token}]
    return _render(fmt, "service_requests", data)
