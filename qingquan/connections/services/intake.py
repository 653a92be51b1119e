"""Applications: the one document (its number and file checked), eligibility for "221",
the customer manager, and the application with its first step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc

from qingquan.connections.models import (
    ApplicantKind,
    Application,
    ApplicationStep,
    AppState,
    Channel,
    DocumentKind,
    EligibilityRule,
    Policy,
    PolicyCode,
    StepOwner,
    Use,
)
from qingquan.connections.services.base import Refused, audit, entry, refresh_clock
from qingquan.core import clock
from qingquan.core.validation import clean_phone, clean_text
from qingquan.staff.access import check
from qingquan.staff.roles import Role

# What a document may be: the first bytes of each accepted file type.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


def max_document_bytes() -> int:
    return int(getattr(settings, "CONNECTIONS_DOCUMENT_MAX_BYTES", 5 * 1024 * 1024))


def document_number_check(kind: str, number: str) -> str:
    """The USCC (enterprise) or resident ID number in its compact form, or `Refused`."""
    raw = (number or "").strip().upper()
    if kind == DocumentKind.LICENCE:
        if not uscc.is_valid(raw):
            raise Refused(
                _("The unified social credit code %(n)s is not valid (check its 18 characters).")
                % {"n": raw[:30]},
                field="document_number",
            )
        return str(uscc.compact(raw))
    if kind == DocumentKind.ID_CARD:
        if not ric.is_valid(raw):
            raise Refused(
                _("The resident ID number %(n)s is not valid (check its 18 characters).")
                % {"n": raw[:30]},
                field="document_number",
            )
        return str(ric.compact(raw))
    raise Refused(_("Choose a business licence or a resident ID card."), field="document_kind")


def document_check(files: Sequence[UploadedFile]) -> tuple[UploadedFile, str]:
    """The one document and its type: exactly one file, a PDF, JPEG or PNG by its first
    bytes, no larger than the limit."""
    if not files:
        raise Refused(
            _("Attach the one document: the business licence or the ID card."), field="document"
        )
    if len(files) > 1:
        raise Refused(
            _("Only one document is needed (the business licence or the ID card); %(n)d given.")
            % {"n": len(files)},
            field="document",
        )
    upload = files[0]
    limit = max_document_bytes()
    if upload.size is None or upload.size > limit:
        raise Refused(
            _("The document is too large: at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            field="document",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for content_type, magics in MAGIC.items():
        if any(head.startswith(m) for m in magics):
            return upload, content_type
    raise Refused(_("The document must be a PDF, JPEG or PNG file."), field="document")


@dataclass(frozen=True)
class Eligibility:
    policy: Policy
    reasons: str


def eligibility(
    *, use: str, pipe_mm: int, m3_per_day: Decimal, external_works: bool
) -> Eligibility:
    """Which policy applies (R-CON-1): "221" when the active rule allows it, "431"
    otherwise, real-estate projects their own; with the reasons in words."""
    if use == Use.REAL_ESTATE:
        return Eligibility(
            Policy.objects.get(code=PolicyCode.REAL_ESTATE), _("Real-estate supporting project.")
        )
    rule = EligibilityRule.objects.filter(is_active=True).order_by("pk").first()
    reasons: list[str] = []
    if external_works:
        reasons.append(_("needs external-line approval or construction"))
    if rule is not None and pipe_mm > rule.max_pipe_mm:
        reasons.append(
            _("pipe DN%(p)d is above DN%(max)d") % {"p": pipe_mm, "max": rule.max_pipe_mm}
        )
    if rule is not None and m3_per_day > rule.max_m3_per_day:
        reasons.append(
            _("%(q)s m³ a day is above %(max)s m³") % {"q": m3_per_day, "max": rule.max_m3_per_day}
        )
    if rule is None:
        reasons.append(_('no active "221" rule'))
    if reasons:
        return Eligibility(
            Policy.objects.get(code=PolicyCode.PROVINCIAL_431),
            _('"431": %(why)s.') % {"why": "; ".join(reasons)},
        )
    return Eligibility(
        Policy.objects.get(code=PolicyCode.STANDARD_221),
        _(
            '"221": no external works, DN%(p)d ≤ DN%(max)d, %(q)s ≤ %(mq)s m³ a day '
            '(rule "%(rule)s").'
        )
        % {
            "p": pipe_mm,
            "max": rule.max_pipe_mm,  # type: ignore[union-attr]
            "q": m3_per_day,
            "mq": rule.max_m3_per_day,  # type: ignore[union-attr]
            "rule": rule,
        },
    )


def manager_for(manager: Any = None) -> Any:
    """The named customer manager: the one given (who must be one), else the active
    customer manager with the fewest open applications."""
    from qingquan.staff.models import User

    if manager is not None:
        if manager.role != Role.CUSTOMER_MANAGER or not manager.is_active:
            raise Refused(_("Choose a customer manager."), field="manager")
        return manager
    chosen = (
        User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True)
        .annotate(
            load=Count(
                "connection_applications",
                filter=Q(connection_applications__state=AppState.OPEN),
            )
        )
        .order_by("load", "pk")
        .first()
    )
    if chosen is None:
        raise Refused(_("No customer manager is available to take the application."))
    return chosen


def premise_check(*, premise: Any, address: str) -> None:
    """Refuse premises that already have an active connection (an active account, or an
    application in progress or done)."""
    from qingquan.customers.models import AccountStatus

    if premise is not None:
        if premise.accounts.filter(status=AccountStatus.ACTIVE).exists():
            raise Refused(
                _("%(a)s already has an active water connection.") % {"a": premise.address},
                field="premise",
            )
        taken = Application.objects.filter(premise=premise)
    else:
        taken = Application.objects.filter(address=address)
    other = taken.exclude(state=AppState.CANCELLED).first()
    if other is not None:
        raise Refused(
            _("%(a)s already has connection application %(n)s.")
            % {"a": address or other.address, "n": other.number},
            field="premise",
        )


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Refused(_("%(f)s must be a number.") % {"f": field}, field=field) from None
    if not number.is_finite() or number < 0 or number > Decimal("1000000"):
        raise Refused(_("%(f)s is out of range.") % {"f": field}, field=field)
    return number.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class ApplicationInput:
    """What an applicant gives (from any channel)."""

    applicant_kind: str
    applicant_name: str
    phone: str
    document_kind: str
    document_number: str
    documents: Sequence[UploadedFile]
    use: str
    m3_per_day: Any
    pipe_mm: Any
    address: str = ""
    premise: Any = None
    external_works: bool = False
    channel: str = Channel.COUNTER
    external_ref: str = ""
    # A real-estate project (`realestate.ProjectInput`) for use "real_estate".
    project: Any = None
    # The partner system it came through (the provincial platform's `PartnerClient`).
    partner: Any = None


def _checked(data: ApplicationInput) -> dict[str, Any]:
    """The input cleaned, or `Refused` naming the first wrong field."""
    if data.applicant_kind not in ApplicantKind.values:
        raise Refused(_("Say whether an enterprise or a resident applies."), field="applicant")
    if data.channel not in Channel.values:
        raise Refused(_("Unknown channel."), field="channel")
    expected = (
        DocumentKind.LICENCE
        if data.applicant_kind == ApplicantKind.ENTERPRISE
        else DocumentKind.ID_CARD
    )
    if data.document_kind != expected:
        raise Refused(
            _("An enterprise brings its business licence; a resident brings the ID card."),
            field="document_kind",
        )
    if data.use not in Use.values:
        raise Refused(_("Choose the use of the water."), field="use")
    try:
        name = clean_text(data.applicant_name, field=_("name"), max_length=120, required=True)
        phone = clean_phone(data.phone, field=_("phone"))
        address = clean_text(
            data.premise.address if data.premise is not None else data.address,
            field=_("address"),
            max_length=255,
            required=True,
        )
    except ValidationError as exc:
        raise Refused(exc.messages[0]) from None
    if not phone:
        raise Refused(_("A phone number is needed to reach the applicant."), field="phone")
    pipe = _decimal(data.pipe_mm, "pipe_mm")
    if pipe != pipe.to_integral_value() or not 15 <= pipe <= 1200:
        raise Refused(_("Give the pipe size as DN 15 to DN 1200."), field="pipe_mm")
    return {
        "applicant_name": name,
        "phone": phone,
        "address": address,
        "document_number": document_number_check(data.document_kind, data.document_number),
        "m3_per_day": _decimal(data.m3_per_day, "m3_per_day"),
        "pipe_mm": int(pipe),
    }


def application_create(
    *,
    actor: Any,
    data: ApplicationInput,
    manager: Any = None,
    resident: Any = None,
    at: Any = None,
) -> Application:
    """Take an application (any channel): everything is checked before anything is
    written, then the application, its first step (owned by the manager) and its clock
    are one transaction, audited as `connections.apply`."""
    from qingquan.connections.services.realestate import project_check, project_create

    check(actor, "connections.apply")
    clean = _checked(data)
    project = project_check(data.project) if data.use == Use.REAL_ESTATE else None
    upload, content_type = document_check(data.documents)
    decided = eligibility(
        use=data.use,
        pipe_mm=clean["pipe_mm"],
        m3_per_day=clean["m3_per_day"],
        external_works=bool(data.external_works),
    )
    now = at or clock.now()
    with transaction.atomic():
        premise_check(premise=data.premise, address=clean["address"])
        _external_ref_check(data.external_ref)
        chosen = manager_for(manager)
        policy = decided.policy
        application = Application(
            number=f"BZ-{now:%Y%m%d%H%M%S%f}",
            policy=policy,
            channel=data.channel,
            applicant_kind=data.applicant_kind,
            document_kind=data.document_kind,
            document_type=content_type,
            document_size=upload.size or 0,
            premise=data.premise,
            use=data.use,
            external_works=bool(data.external_works),
            eligibility=decided.reasons,
            manager=chosen,
            resident=resident,
            external_ref=data.external_ref[:64],
            partner=data.partner,
            created_at=now,
            budget_seconds=policy.budget_seconds,
            warn_fraction=policy.warn_fraction,
            **clean,
        )
        application.document.save(f"document{suffix(content_type)}", upload, save=False)
        application.save()
        application.number = f"BZ{now:%Y%m%d}{application.pk:06d}"
        Application.objects.filter(pk=application.pk).update(number=application.number)
        _steps_create(application, start=now)
        if project is not None:
            project_create(actor=actor, application=application, fields=project)
        refresh_clock(application)
        entry(
            application,
            "apply",
            _("Application %(n)s received (%(policy)s); customer manager %(m)s.")
            % {"n": application.number, "policy": policy.code, "m": _name(chosen)},
            actor=actor,
        )
        entry(application, "policy", decided.reasons, actor=actor)
        audit(
            actor,
            "apply",
            application,
            policy=policy.code,
            channel=data.channel,
            manager=chosen.pk,
            documents=1,
        )
    return application


def external_ref_is(ref: str) -> Q:
    """Applications with the partner's id `ref`, stated with the unique index's condition
    (not blank): a partial index serves only queries that state it (SQLite)."""
    return Q(external_ref=ref) & ~Q(external_ref="")


def _external_ref_check(ref: str) -> None:
    if ref and Application.objects.filter(external_ref_is(ref)).exists():
        raise Refused(_("This provincial application was received already."), field="external_ref")


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def suffix(content_type: str) -> str:
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}[content_type]


def _steps_create(application: Application, *, start: Any) -> None:
    """The application's steps from its policy; the first starts now, owned by the
    customer manager (first-contact ownership)."""
    rows = []
    for step in application.policy.steps.order_by("order"):
        first = step.order == 1
        rows.append(
            ApplicationStep(
                application=application,
                order=step.order,
                code=step.code,
                name=step.name,
                budget_seconds=step.budget_seconds,
                phase=step.phase,
                owner=application.manager if first or step.owner == StepOwner.MANAGER else None,
                started_at=start if first else None,
            )
        )
    if not rows:
        raise Refused(_("The policy %(p)s has no steps.") % {"p": application.policy})
    ApplicationStep.objects.bulk_create(rows)
    application.step = rows[0].order
