"""The partner REST API: its own NinjaAPI at /api/partner/v1/ (OpenAPI at
/api/partner/v1/openapi.json, docs at /api/partner/v1/docs), kept apart from the staff
API (/api/v1/, session auth) so that its contract, authentication and error format can
evolve for outside systems only.

Authentication: ``Authorization: Bearer qq_<prefix>_<secret>`` (one key of a
`PartnerClient`); each key is rate-limited per minute (429 with Retry-After). Every
error answers ``{"error": {"code": ..., "message": ...}}``. Every create takes an
``Idempotency-Key`` header. A client sees only the cases it brought in.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import BeforeValidator, StringConstraints

from qingquan.core import clock
from qingquan.core import validation as vd
from qingquan.core.access import AccessDenied
from qingquan.core.openapi import SchemaCachedApi
from qingquan.core.schemas import PageIn, PageOut, paged
from qingquan.partners import selectors, services
from qingquan.partners.errors import PartnerError, RateLimited
from qingquan.partners.models import ApiKey, PartnerCase, PartnerClient, Scope
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import Ticket, TicketEvent, TicketState

logger = logging.getLogger(__name__)


class PartnerKeyAuth(HttpBearer):
    """A partner API key as a bearer token; counts the request against the key's limit."""

    openapi_description = "A partner API key: `Authorization: Bearer qq_<prefix>_<secret>`."

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = services.authenticate(token)
        if key is None:
            return None
        services.rate_limit_hit(key=key)
        return key


partner_api = SchemaCachedApi(
    title="Qingquan partner API",
    version="1",
    description=(
        "Open API of the 清泉 water-utility hotline for partner systems (provincial service "
        "platform, mini-programs, city hotline): cases, limited customer verification, "
        "bills. See docs/api.md."
    ),
    urls_namespace="partner_api",
    auth=PartnerKeyAuth(),
)


# ---------------------------------------------------------------------------
# One error format
# ---------------------------------------------------------------------------


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


def error_response(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    response = partner_api.create_response(
        request, {"error": {"code": code, "message": message}}, status=status
    )
    return response


@partner_api.exception_handler(PartnerError)
def _partner_error(request: HttpRequest, exc: PartnerError) -> HttpResponse:
    response = error_response(request, exc.status, exc.code, exc.message)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@partner_api.exception_handler(AccessDenied)
def _access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
    """The one access error (`core.access.AccessDenied`) in the open APIs' error body."""
    return error_response(request, 403, "forbidden", exc.message)


@partner_api.exception_handler(TicketError)
def _ticket_error(request: HttpRequest, exc: TicketError) -> HttpResponse:
    codes = {400: "invalid_request", 403: "forbidden", 409: "conflict"}
    return error_response(request, exc.status, codes.get(exc.status, "error"), exc.message)


@partner_api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, "unauthorized", _("Send a valid, unrevoked API key as a bearer token.")
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@partner_api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    parts = []
    for error in exc.errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "payload"))
        message = str(error.get("msg", ""))
        # The platform's input rules name the field themselves (core.validation).
        parts.append(message if message.startswith(f"{where}") else f"{where}: {message}")
    message = "; ".join(parts) or _("Invalid request.")
    return error_response(request, 422, "invalid_request", message)


@partner_api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, exc.status_code, "error", str(exc))


@partner_api.exception_handler(OperationalError)
@partner_api.exception_handler(InterfaceError)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database went away mid-request (a restart, a failover): nothing was committed,
    so the client may retry the same request, with the same Idempotency-Key."""
    logger.warning("partner API: database unavailable (%s)", exc)
    response = error_response(
        request,
        503,
        "unavailable",
        _("The service is briefly unavailable; send the same request again in a few seconds."),
    )
    response["Retry-After"] = "2"
    return response


@partner_api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("Not found."))


ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class NoteOut(Schema):
    at: dt.datetime
    action: str
    note: str


class CaseOut(Schema):
    number: str = Field(description="The utility's case number, e.g. 20261128-0042")
    external_id: str | None = Field(description="Your id of the case, if you sent one")
    kind: str
    kind_name: str
    channel: str
    subject: str
    description: str
    address: str
    state: str = Field(description=", ".join(TicketState.values))
    status: str = Field(description="open or closed")
    department: str | None = Field(description="The department handling it")
    created_at: dt.datetime
    updated_at: dt.datetime
    expected_at: dt.datetime | None = Field(description="The resolution deadline")
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str
    callback_outcome: str
    version: int


class ContactOut(Schema):
    at: dt.datetime
    channel: str
    note: str


class CaseDetailOut(CaseOut):
    notes: list[NoteOut] = Field(description="The customer-visible timeline")


class CasePage(PageOut):
    items: list[CaseOut]


# Limits and character rules: qingquan.core.validation, the same on every interface.
class CaseIn(Schema):
    kind: str = Field(description="Case kind code (GET /kinds), e.g. repair-burst", max_length=40)
    subject: vd.Subject
    description: vd.Note = ""
    caller_name: vd.Name = ""
    caller_phone: vd.Phone = ""
    address: vd.Address = ""
    account_number: Annotated[str, StringConstraints(max_length=20), vd.LINE] = Field(
        "", description="The customer's 户号, if known"
    )
    external_id: vd.ExternalId = Field(
        "", description="Your id of the case: the same id twice is one case"
    )


class NoteIn(Schema):
    note: vd.RequiredNote


class RemindIn(Schema):
    note: vd.Note = ""


class ReasonIn(Schema):
    reason: vd.RequiredNote


def _iso_only(value: Any) -> Any:
    """Query datetimes are ISO 8601 text only (pydantic would take "0.5" as a timestamp)."""
    if isinstance(value, str) and not ISO_DATETIME.match(value.strip()):
        raise ValueError("use ISO 8601 with an offset, e.g. 2026-11-28T09:00:00+08:00")
    return value


ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
QueryDatetime = Annotated[vd.Datetime, BeforeValidator(_iso_only)]


class CaseFilters(PageIn):
    state: TicketState | None = None
    status: Literal["open", "closed"] | None = None
    kind: Annotated[str, StringConstraints(max_length=40), vd.LINE] | None = None
    external_id: vd.ExternalId | None = None
    created_from: QueryDatetime | None = None
    created_to: QueryDatetime | None = None
    updated_since: QueryDatetime | None = None


class KindOut(Schema):
    code: str
    name: str
    parent: str | None


class VerifyIn(Schema):
    account_number: Annotated[str, StringConstraints(min_length=1, max_length=20), vd.LINE]
    phone: Annotated[str, StringConstraints(min_length=1, max_length=vd.PHONE), vd.LINE] = Field(
        description="A phone number on the account"
    )


class PhoneIn(Schema):
    phone: Annotated[str, StringConstraints(min_length=1, max_length=vd.PHONE), vd.LINE] = Field(
        description="A phone number on the account"
    )


class AccountOut(Schema):
    account_number: str
    customer_name: str = Field(description="Masked, e.g. 王**")
    address: str
    status: str
    balance: str = Field(description="Amount owed, yuan")


class BillOut(Schema):
    period_start: dt.date
    period_end: dt.date
    volume: str
    total: str
    paid: str
    outstanding: str
    status: str
    due_date: dt.date


def local(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(clock.SHANGHAI) if value else None


def case_out(
    partner_case: PartnerCase, *, detail: bool = False, create_event: TicketEvent | None = None
) -> dict[str, Any]:
    """The case as partners see it; with `detail`, its customer-visible notes (for a case
    created in this request, its `create_event`: no need to read the timeline back)."""
    ticket: Ticket = partner_case.ticket
    data: dict[str, Any] = {
        "number": ticket.number,
        "external_id": partner_case.external_id or None,
        "kind": ticket.kind.code,
        "kind_name": str(ticket.kind),
        "channel": ticket.channel,
        "subject": ticket.subject,
        "description": ticket.description,
        "address": ticket.address,
        "state": ticket.state,
        "status": "open" if ticket.is_open else "closed",
        "department": ticket.department.name if ticket.department_id else None,  # type: ignore[union-attr]
        "created_at": local(ticket.created_at),
        "updated_at": local(ticket.updated_at),
        "expected_at": local(ticket.resolution_deadline),
        "resolved_at": local(ticket.resolved_at),
        "closed_at": local(ticket.closed_at),
        "resolution": ticket.resolution,
        "callback_outcome": ticket.callback_outcome,
        "version": ticket.version,
    }
    if detail:
        entries = (
            [create_event]
            if create_event is not None
            and create_event.visibility == TicketEvent.Visibility.CUSTOMER
            else selectors.customer_notes(ticket)
        )
        data["notes"] = [{"at": local(e.at), "action": e.action, "note": e.note} for e in entries]
    return data


def _client(request: HttpRequest) -> PartnerClient:
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    return key.client


# ---------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------


@partner_api.get("/kinds", response={200: list[KindOut], **ERRORS}, tags=["cases"])
def kinds(request: HttpRequest) -> list[dict[str, Any]]:
    """The case kinds a partner may use (top-level kinds and their sub-kinds)."""
    _client(request)
    return [
        {"code": k.code, "name": k.name, "parent": k.parent.code if k.parent else None}
        for k in selectors.intake_kinds()
    ]


RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0)  # a database restart takes a few seconds


def _reconnecting(write: Any) -> Any:
    """Run an idempotent write again when the database connection is lost under it (a
    restart, a failover): nothing of it was committed — or, if the commit itself was cut
    off, the Idempotency-Key's record answers the retry. The client gets its answer a few
    seconds late instead of an error; past the last delay the error stands (503)."""
    from django.db import connection

    for delay in (*RECONNECT_DELAYS, None):
        try:
            return write()
        except (OperationalError, InterfaceError) as error:
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("partner API: database connection lost (%s); retrying", error)
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")


IdempotencyKey = Header(..., alias="Idempotency-Key", min_length=1, max_length=200)


def _idempotent_answer(
    client: PartnerClient,
    key: str,
    payload: dict[str, Any],
    response: HttpResponse,
    write: Callable[[], tuple[int, Any]],
    *,
    reconnect: bool = False,
) -> Status:
    """The one way a partner endpoint writes: `write` runs once per (client,
    Idempotency-Key) through `services.idempotent`, a retry answers the stored response
    with the header `Idempotent-Replayed: true`; with `reconnect`, a lost database
    connection is retried (`_reconnecting`)."""

    def once() -> tuple[int, Any, bool]:
        return services.idempotent(client=client, key=key, payload=payload, create=write)

    status, data, replayed = _reconnecting(once) if reconnect else once()
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(status, data)


def _after_step(client: PartnerClient, number: str) -> dict[str, Any]:
    out = CaseDetailOut.model_validate(case_out(selectors.case_of(client, number), detail=True))
    return out.model_dump(mode="json")


def _case_step(path: str, schema: type[Schema], service: str, name: str, doc: str) -> None:
    """Register POST /cases/{number}/<path> (operation `name`, described by `doc`): a
    customer's step on one of the client's cases (note, reminder, reopen). It needs the
    write scope, runs `services.<service>(client=…, number=…, **payload)` once per
    Idempotency-Key and answers the case as it is after."""

    def view(
        request: HttpRequest,
        number: str,
        payload: Schema,
        response: HttpResponse,
        idempotency_key: str = IdempotencyKey,
    ) -> Status:
        client = _client(request)
        services.require_scope(client, Scope.CASES_WRITE)

        def write() -> tuple[int, Any]:
            getattr(services, service)(client=client, number=number, **payload.dict())
            return 201, _after_step(client, number)

        body = {"path": f"cases/{number}/{path}", **payload.dict()}
        return _idempotent_answer(client, idempotency_key, body, response, write)

    view.__name__ = view.__qualname__ = name
    view.__doc__ = doc
    view.__annotations__ = {**view.__annotations__, "payload": schema}
    partner_api.post(
        f"/cases/{{number}}/{path}", response={201: CaseDetailOut, **ERRORS}, tags=["cases"]
    )(view)


@partner_api.post(
    "/cases", response={201: CaseDetailOut, 200: CaseDetailOut, **ERRORS}, tags=["cases"]
)
def case_create(
    request: HttpRequest,
    payload: CaseIn,
    response: HttpResponse,
    idempotency_key: str = IdempotencyKey,
) -> Status:
    """Open a case. A retry with the same Idempotency-Key answers the first response
    (header `Idempotent-Replayed: true`); the same `external_id` twice is one case (200)."""
    client = _client(request)
    services.require_scope(client, Scope.CASES_WRITE)
    body = payload.dict()

    def create() -> tuple[int, Any]:
        kind = services.kind_for_intake(payload.kind)
        received = services.partner_case_receive(
            client=client,
            kind=kind,
            subject=payload.subject,
            description=payload.description,
            caller_name=payload.caller_name,
            caller_phone=payload.caller_phone,
            address=payload.address,
            account_number=payload.account_number,
            external_id=payload.external_id,
        )
        out = CaseDetailOut.model_validate(
            case_out(received.partner_case, detail=True, create_event=received.create_event)
        )
        return (201 if received.created else 200), out.model_dump(mode="json")

    return _idempotent_answer(client, idempotency_key, body, response, create, reconnect=True)


@partner_api.get("/cases", response={200: CasePage, **ERRORS}, tags=["cases"])
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """The client's cases, newest first, filtered and paginated."""
    client = _client(request)
    services.require_scope(client, Scope.CASES_READ)
    qs = selectors.cases_of(client)
    if filters.state:
        qs = qs.filter(ticket__state=filters.state)
    if filters.status == "open":
        qs = qs.filter(ticket__state__in=selectors.OPEN)
    elif filters.status == "closed":
        qs = qs.exclude(ticket__state__in=selectors.OPEN)
    if filters.kind:
        kind = Q(ticket__kind__code=filters.kind) | Q(ticket__kind__parent__code=filters.kind)
        qs = qs.filter(kind)
    if filters.external_id:
        qs = qs.filter(external_id=filters.external_id)
    if filters.created_from:
        qs = qs.filter(ticket__created_at__gte=filters.created_from)
    if filters.created_to:
        qs = qs.filter(ticket__created_at__lt=filters.created_to)
    if filters.updated_since:
        qs = qs.filter(ticket__updated_at__gte=filters.updated_since)
    return paged(qs, filters, case_out)


@partner_api.get("/cases/{number}", response={200: CaseDetailOut, **ERRORS}, tags=["cases"])
def case_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    """One of the client's cases with its customer-visible timeline."""
    client = _client(request)
    services.require_scope(client, Scope.CASES_READ)
    return case_out(selectors.case_of(client, number), detail=True)


@partner_api.get(
    "/cases/{number}/contacts", response={200: list[ContactOut], **ERRORS}, tags=["cases"]
)
def case_contacts(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    """The contacts of the case made through this client: the one that opened it and
    every note added since."""
    client = _client(request)
    services.require_scope(client, Scope.CASES_READ)
    partner_case = selectors.case_of(client, number)
    return [
        {"at": local(c.started_at), "channel": c.channel, "note": c.note}
        for c in selectors.contacts_of(client, partner_case)
    ]


_case_step(
    "notes",
    NoteIn,
    "partner_case_note",
    "case_note",
    "The customer adds information to the case (recorded as a contact; the owner is told).",
)
_case_step(
    "reminders",
    RemindIn,
    "partner_case_remind",
    "case_remind",
    "The customer chases the case (催办); 409 when it is with nobody yet or closed.",
)
_case_step(
    "reopen",
    ReasonIn,
    "partner_case_reopen",
    "case_reopen",
    "The customer disagrees with the resolution: the case goes back to its owner.",
)


@partner_api.get("/accounts/verify", response={200: AccountOut, **ERRORS}, tags=["customers"])
def account_verify(request: HttpRequest, params: Query[VerifyIn]) -> dict[str, Any]:
    """Check that an account number and a phone number belong together (limited view:
    masked name, address, status, balance). 404 when they do not match."""
    client = _client(request)
    services.require_scope(client, Scope.CUSTOMERS_READ)
    return selectors.verified_account(account_number=params.account_number, phone=params.phone)


@partner_api.get(
    "/accounts/{account_number}/bills", response={200: list[BillOut], **ERRORS}, tags=["bills"]
)
def account_bills(
    request: HttpRequest, account_number: str, params: Query[PhoneIn]
) -> list[dict[str, Any]]:
    """The last twelve bills of a verified account (the phone must be on the account)."""
    client = _client(request)
    services.require_scope(client, Scope.BILLS_READ)
    return selectors.verified_bills(account_number=account_number, phone=params.phone)
