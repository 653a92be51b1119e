"""Notices API (`/api/v1/notices/`): the lifecycle for staff, the IVR's question "is this
phone's or account's address inside an active interruption, and what is the message",
subscriptions, and the public list (no login). Refusals: 403 (access), 404, 422 with
``detail`` (a field-by-field ``errors`` object for refused input)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from qingquan.core.schemas import PageIn, PageOut, paged
from qingquan.core.validation import Datetime
from qingquan.customers import phones
from qingquan.customers.models import Premise
from qingquan.notices import selectors, services
from qingquan.notices.models import AreaSource, Notice, NoticeKind, Subscription
from qingquan.staff.access import check

router = Router(tags=["notices"])


class ByArea(Schema):
    district: str
    street: str
    accounts: int


class VersionOut(Schema):
    number: int
    event: str
    published_at: dt.datetime
    starts_at: dt.datetime
    expected_end_at: dt.datetime
    note: str
    message: str
    accounts: int
    phones: int
    critical: int
    messages: int
    by_area: list[ByArea]


class NoticeOut(Schema):
    id: int
    number: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    title: str
    area_source: str
    pipe: str
    area_text: str
    starts_at: dt.datetime
    expected_end_at: dt.datetime
    reason: str
    alternative_supply: str
    contact: str
    late_reason: str
    version: int
    calls: int


class NoticeDetail(NoticeOut):
    versions: list[VersionOut]
    progress: dict[str, int]


class PublicNotice(Schema):
    number: str
    kind: str
    kind_label: str
    status: str
    title: str
    area: str
    starts_at: dt.datetime
    expected_end_at: dt.datetime
    reason: str
    alternative_supply: str
    contact: str
    updated_at: dt.datetime


class NoticePage(PageOut):
    items: list[NoticeOut]


class PublicPage(PageOut):
    items: list[PublicNotice]


class NoticeIn(Schema):
    kind: NoticeKind
    title: str = Field(..., max_length=120)
    area_source: AreaSource
    pipe: str = Field("", max_length=40)
    include_low_pressure: bool = True
    streets: list[int] = []
    communities: list[int] = []
    accounts: list[str] = Field([], max_length=200_000)
    polygon: list[list[float]] = Field([], max_length=2000, description="[[lon, lat], …]")
    area_text: str = Field("", max_length=500)
    starts_at: Datetime
    expected_end_at: Datetime
    reason: str = Field(..., max_length=300)
    alternative_supply: str = Field("", max_length=300)
    contact: str = Field("", max_length=120)
    late_reason: str = Field("", max_length=300)

    def fields(self) -> dict[str, Any]:
        d = self.dict()
        area: dict[str, Any] = {}
        if self.area_source == AreaSource.STREETS:
            area = {"streets": d.pop("streets"), "communities": d.pop("communities")}
        elif self.area_source == AreaSource.ACCOUNTS:
            area = {"accounts": d.pop("accounts")}
        elif self.area_source == AreaSource.POLYGON:
            area = {"polygon": d.pop("polygon")}
        for k in ("streets", "communities", "accounts", "polygon"):
            d.pop(k, None)
        d["kind"] = str(self.kind)
        d["area_source"] = str(self.area_source)
        return {**d, "area": area}


class StepIn(Schema):
    note: str = Field("", max_length=300)
    late_reason: str = Field("", max_length=300)
    accept_late: bool = False


class UpdateIn(NoticeIn):
    note: str = Field(..., max_length=300)


class LookupOut(Schema):
    inside: bool
    notices: list[PublicNotice]
    message: str


class SubscriptionIn(Schema):
    premise: int
    channel: str
    address: str = Field(..., max_length=200)


class SubscriptionOut(Schema):
    id: int
    premise: int
    channel: str
    created_at: dt.datetime


def _out(n: Notice) -> dict[str, Any]:
    return {
        "id": n.pk,
        "number": n.number,
        "kind": n.kind,
        "kind_label": str(n.get_kind_display()),
        "status": n.status,
        "status_label": str(n.get_status_display()),
        "title": n.title,
        "area_source": n.area_source,
        "pipe": n.pipe,
        "area_text": n.area_text,
        "starts_at": n.starts_at,
        "expected_end_at": n.expected_end_at,
        "reason": n.reason,
        "alternative_supply": n.alternative_supply,
        "contact": n.contact,
        "late_reason": n.late_reason,
        "version": n.version,
        "calls": n.calls,
    }


def _public(n: Notice) -> dict[str, Any]:
    return {
        "number": n.number,
        "kind": n.kind,
        "kind_label": str(n.get_kind_display()),
        "status": n.status,
        "title": n.title,
        "area": n.area_text,
        "starts_at": n.starts_at,
        "expected_end_at": n.expected_end_at,
        "reason": n.reason,
        "alternative_supply": n.alternative_supply,
        "contact": n.contact,
        "updated_at": n.updated_at,
    }


def _detail(n: Notice) -> dict[str, Any]:
    versions = list(n.versions.order_by("number"))
    progress = selectors.progress(versions[-1] if versions else None)
    return {
        **_out(n),
        "versions": [
            {
                "number": v.number,
                "event": v.event,
                "published_at": v.published_at,
                "starts_at": v.starts_at,
                "expected_end_at": v.expected_end_at,
                "note": v.note,
                "message": v.message,
                "accounts": v.accounts,
                "phones": v.phones,
                "critical": v.critical,
                "messages": v.messages,
                "by_area": v.by_area,
            }
            for v in versions
        ],
        "progress": {
            k: getattr(progress, k)
            for k in ("total", "pending", "retrying", "sending", "sent", "delivered", "failed")
        }
        | {"suppressed": progress.suppressed},
    }


def _refused(exc: ValidationError) -> HttpError:
    detail = " ".join(exc.messages)
    error = HttpError(422, detail)
    return error


def _get(request: HttpRequest, notice_id: int) -> Notice:
    try:
        return selectors.notice_for_staff(user=request.user, pk=notice_id)
    except Notice.DoesNotExist:
        raise HttpError(404, f"There is no notice {notice_id}.") from None


class NoticeFilter(PageIn):
    status: str = ""
    q: str = Field("", max_length=60)


class PublicFilter(PageIn):
    street: str = Field("", max_length=40)
    account: str = Field("", max_length=20)
    status: str = Field("", description="active: only notices still in force")


@router.get("/", response=NoticePage, summary="Notices (staff)")
def notice_list(request: HttpRequest, filters: Query[NoticeFilter]) -> dict[str, Any]:
    qs = selectors.notices_for_staff(user=request.user, status=filters.status, text=filters.q)
    return paged(qs, filters, _out)


@router.post("/", response={201: NoticeDetail}, summary="Draft a notice")
def notice_create(request: HttpRequest, body: NoticeIn) -> tuple[int, dict[str, Any]]:
    try:
        notice = services.notice_create(actor=request.user, **body.fields())
    except ValidationError as exc:
        raise _refused(exc) from None
    return 201, _detail(notice)


@router.get("/lookup", response=LookupOut, summary="IVR: is this caller inside an interruption")
def notice_lookup(request: HttpRequest, phone: str = "", account: str = "") -> dict[str, Any]:
    """Whether the address of this phone number's customers (or this account) is inside an
    active interruption, with the message to play. The phone number may be in any common
    form (it is normalised); give `phone` or `account`."""
    check(request.user, "notices.view")
    if not phone and not account:
        raise HttpError(422, "Give phone or account.")
    number = ""
    account_ids: list[int] = []
    if phone:
        normalised = phones.try_normalise(phone[:40])
        if normalised is None:
            raise HttpError(422, "Not a phone number.")
        number = normalised[0]
        from qingquan.customers.models import Account

        account_ids = list(
            Account.objects.filter(customer__phones__number=number).values_list("pk", flat=True)
        )
    found = selectors.active_for(account_ids=account_ids, phone=number, account=account[:20])
    message = ""
    if found:
        current = found[0].current
        message = current.message if current else found[0].reason
    return {"inside": bool(found), "notices": [_public(n) for n in found], "message": message}


@router.get("/public", response=PublicPage, auth=None, summary="Public notices (no login)")
def public_list(request: HttpRequest, filters: Query[PublicFilter]) -> dict[str, Any]:
    """Published notices (no personal data): search by street name or account number;
    `status=active` for the ones still in force."""
    qs = selectors.public_notices(
        street=filters.street, account=filters.account, status=filters.status
    )
    return paged(qs, filters, _public)


@router.get("/{int:notice_id}", response=NoticeDetail, summary="One notice with its versions")
def notice_detail(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    return _detail(_get(request, notice_id))


@router.post("/{int:notice_id}/update", response=NoticeDetail, summary="Publish an update")
def notice_update(request: HttpRequest, notice_id: int, body: UpdateIn) -> dict[str, Any]:
    notice = _get(request, notice_id)
    fields = body.fields()
    note = fields.pop("note")
    fields.pop("late_reason", None)
    try:
        services.notice_update(actor=request.user, notice=notice, note=note, **fields)
    except ValidationError as exc:
        raise _refused(exc) from None
    return _detail(_get(request, notice_id))


@router.post("/{int:notice_id}/{step}", response=NoticeDetail, summary="A lifecycle step")
def notice_step(request: HttpRequest, notice_id: int, step: str, body: StepIn) -> dict[str, Any]:
    """`submit` (late_reason), `approve` (accept_late), `reject` (note), `restore`,
    `close`."""
    notice = _get(request, notice_id)
    try:
        if step == "submit":
            services.notice_submit(actor=request.user, notice=notice, late_reason=body.late_reason)
        elif step == "approve":
            services.notice_approve(actor=request.user, notice=notice, accept_late=body.accept_late)
        elif step == "reject":
            services.notice_reject(actor=request.user, notice=notice, note=body.note)
        elif step == "restore":
            services.notice_restore(actor=request.user, notice=notice, note=body.note)
        elif step == "close":
            services.notice_close(actor=request.user, notice=notice)
        else:
            raise HttpError(404, f"Unknown step {step}.")
    except ValidationError as exc:
        raise _refused(exc) from None
    return _detail(_get(request, notice_id))


@router.post("/subscriptions/", response={201: SubscriptionOut}, summary="Subscribe")
def subscription_create(request: HttpRequest, body: SubscriptionIn) -> tuple[int, dict[str, Any]]:
    check(request.user, "notices.subscriptions")
    premise = Premise.objects.filter(pk=body.premise).first()
    if premise is None:
        raise HttpError(404, f"There is no premise {body.premise}.")
    try:
        sub = services.subscription_create(
            actor=request.user, premise=premise, channel=body.channel, address=body.address
        )
    except ValidationError as exc:
        raise _refused(exc) from None
    return 201, sub.as_dict()


@router.delete("/subscriptions/{int:subscription_id}", response={204: None}, summary="Unsubscribe")
def subscription_delete(request: HttpRequest, subscription_id: int) -> tuple[int, None]:
    check(request.user, "notices.subscriptions")
    sub = Subscription.objects.filter(pk=subscription_id).first()
    if sub is None:
        raise HttpError(404, f"There is no subscription {subscription_id}.")
    services.subscription_delete(actor=request.user, subscription=sub)
    return 204, None
