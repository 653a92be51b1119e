"""New connections through the partner connector (R-CH-2): the provincial platform
(浙里办 / 政务服务网) sends an application made there to
`POST /api/partner/v1/connections` (its id there as `external_id`, an `Idempotency-Key`,
the one document base64-encoded) and follows it with `GET /connections/{number}`; its
step changes and completion come back as signed webhooks (`services.provincial`).

Mounted on the partner API by `ConnectionsConfig.ready()` (partners knows nothing of
connections). Needs the client's `connections` scope.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema, Status
from pydantic import StringConstraints

from qingquan.connections import services
from qingquan.connections.models import Application, Channel
from qingquan.connections.services.intake import external_ref_is, max_document_bytes
from qingquan.connections.services.provincial import application_summary
from qingquan.core import validation as vd
from qingquan.core.actors import PartnerActor
from qingquan.core.db import locks
from qingquan.partners import services as partner_services
from qingquan.partners.errors import NotFound, PartnerError
from qingquan.partners.models import PartnerClient, Scope

router = Router(tags=["connections"])

EXTERNAL_REF_LOCK = 0x5143_4300  # first key of a provincial application id's advisory lock

Line = Annotated[str, StringConstraints(min_length=1, max_length=120), vd.LINE]


class DocumentIn(Schema):
    filename: Annotated[str, StringConstraints(max_length=100), vd.LINE] = ""
    content_base64: str = Field(
        max_length=7_200_000, description="The file (PDF, JPEG or PNG, up to 5 MB), base64"
    )


class ProjectIn(Schema):
    name: Line = Field(description="The real-estate project")
    households: int = Field(0, ge=0, le=100_000)
    ready_on: dt.date | None = Field(
        None, description="The documented date the site was ready (none yet: the clock waits)"
    )
    ready_evidence: Annotated[str, StringConstraints(max_length=300), vd.LINE] = ""


class ConnectionIn(Schema):
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=64), vd.LINE] = Field(
        description="Your id of the application: the same id twice is one application"
    )
    applicant_kind: Literal["enterprise", "person"]
    applicant_name: Line
    phone: vd.Phone
    document_kind: Literal["licence", "id_card"] = Field(
        description="The one document: the business licence (enterprise) or ID card (person)"
    )
    document_number: Annotated[str, StringConstraints(min_length=1, max_length=30), vd.LINE]
    document: DocumentIn
    address: vd.Address
    use: Literal["residential", "business", "industrial", "construction", "real_estate"]
    m3_per_day: Decimal = Field(ge=0, le=1_000_000, max_digits=12, decimal_places=2)
    pipe_mm: int = Field(ge=15, le=1200, description="Service pipe DN (mm)")
    external_works: bool = False
    project: ProjectIn | None = Field(None, description="For use real_estate")


class StepOut(Schema):
    order: int
    code: str
    name: str
    phase: str = Field(description="clock or milestone (after construction entry)")


class ConnectionOut(Schema):
    number: str
    external_id: str | None
    policy: str = Field(description="221, 431 or real_estate")
    state: str = Field(description="open, water_on or cancelled")
    status: str = Field(description="open or closed")
    step: StepOut | None
    steps: int
    deadline: str | None = Field(description="When the utility's clock runs out (+08:00)")
    clock_stopped_at: str | None
    utility_working_days: float | None
    on_time: bool | None
    water_on_at: str | None
    created_at: str | None
    version: int


def _errors() -> dict[int, Any]:
    from qingquan.partners.api import ERRORS

    return ERRORS


def _client(request: HttpRequest) -> PartnerClient:
    client: PartnerClient = request.auth.client  # type: ignore[attr-defined]
    partner_services.require_scope(client, Scope.CONNECTIONS)
    return client


def _document(payload: DocumentIn) -> SimpleUploadedFile:
    if len(payload.content_base64) > (max_document_bytes() * 4) // 3 + 4:
        raise PartnerError(
            _("The document is too large: at most %(mb)s MB.")
            % {"mb": max_document_bytes() // (1024 * 1024)}
        )
    try:
        data = base64.b64decode(payload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise PartnerError(_("document.content_base64 is not valid base64.")) from None
    return SimpleUploadedFile(payload.filename or "document", data)


def _receive(client: PartnerClient, payload: ConnectionIn) -> tuple[int, Any]:
    """The application (201), or the one already received with this id (200)."""
    locks.hold_until_commit(EXTERNAL_REF_LOCK + client.pk, payload.external_id)
    mine = Application.objects.filter(partner=client)
    known = mine.filter(external_ref_is(payload.external_id)).first()
    if known is not None:
        return 200, application_summary(known)
    project = payload.project
    data = services.ApplicationInput(
        applicant_kind=payload.applicant_kind,
        applicant_name=payload.applicant_name,
        phone=payload.phone,
        document_kind=payload.document_kind,
        document_number=payload.document_number,
        documents=[_document(payload.document)],
        use=payload.use,
        m3_per_day=payload.m3_per_day,
        pipe_mm=payload.pipe_mm,
        address=payload.address,
        external_works=payload.external_works,
        channel=Channel.PROVINCIAL,
        external_ref=payload.external_id,
        partner=client,
        project=services.ProjectInput(
            name=project.name,
            households=project.households,
            ready_on=project.ready_on,
            ready_evidence=project.ready_evidence,
        )
        if project is not None
        else None,
    )
    try:
        app = services.application_create(actor=PartnerActor(client), data=data)
    except ValidationError as exc:
        raise PartnerError(exc.messages[0]) from None
    return 201, application_summary(app)


@router.post("", response={201: ConnectionOut, 200: ConnectionOut, **_errors()})
def connection_apply(
    request: HttpRequest,
    payload: ConnectionIn,
    response: HttpResponse,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=200),
) -> Status:
    """Apply for a new connection with its one document. A retry with the same
    Idempotency-Key answers the first response (header `Idempotent-Replayed: true`); the
    same `external_id` twice is one application (200). Refusals (a wrong USCC or ID
    number, a second or unreadable document, premises already connected) answer 400 with
    the reason and write nothing."""
    client = _client(request)
    status, body, replayed = partner_services.idempotent(
        client=client,
        key=idempotency_key,
        payload=payload.dict(),
        create=lambda: _receive(client, payload),
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(status, body)


@router.get("/{number}", response={200: ConnectionOut, **_errors()})
def connection_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    """One of the client's applications, by the utility's number or the client's id."""
    client = _client(request)
    app = (
        Application.objects.select_related("policy")
        .filter(
            Q(number=number[:24]) | external_ref_is(number[:64]),
            partner=client,
        )
        .first()
    )
    if app is None:
        raise NotFound(_("No connection application %(n)s of this client.") % {"n": number[:64]})
    return application_summary(app)


_mounted = False


def mount() -> None:
    """Add the router to the partner API (once, from `ConnectionsConfig.ready`)."""
    global _mounted
    if _mounted:
        return
    from qingquan.partners.api import partner_api

    partner_api.add_router("/connections", router)
    _mounted = True
