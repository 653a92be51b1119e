"""New connections (报装, R-CON-1..7): the policies with their steps and budgets as data,
the eligibility rule for "221", the works-fee table, and each application with its steps,
customer-side pauses, timeline, quote, contract and payment.

The clock is the utility's time only: working days of China's official calendar
(`core.sla`, `core.calendar.load_calendar`) from the application to water on, less the
pauses on the customer's side (`ClockPause`). Budgets are copied from the policy onto the
application and its steps when they start, so a later edit of a policy never moves the
deadlines of applications already made.

State changes happen only in `qingquan.connections.services`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

DAY = 86_400


class PolicyCode(models.TextChoices):
    STANDARD_221 = "221", _('"221": 1 document, 2 steps, 2 working days')
    PROVINCIAL_431 = "431", _('"431": 1 document, 3 steps, 4 working days')
    REAL_ESTATE = "real_estate", _("Real-estate supporting project")


class StepOwner(models.TextChoices):
    MANAGER = "manager", _("The customer manager")
    ENGINEER = "engineer", _("The connections engineer")


class StepPhase(models.TextChoices):
    """A step on the policy's clock, or a milestone after it up to handover."""

    CLOCK = "clock", _("On the clock")
    MILESTONE = "milestone", _("Milestone to handover")


class Policy(models.Model):
    """A connection standard: its time budget (working days of the utility's time), how
    many documents the applicant brings, and its steps (`PolicyStep`)."""

    code = models.CharField(_("code"), max_length=20, choices=PolicyCode.choices, unique=True)
    name = models.CharField(_("name"), max_length=80)
    budget_days = models.DecimalField(
        _("working days to the end"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    documents = models.PositiveSmallIntegerField(_("documents"), default=1)
    warn_fraction = models.FloatField(
        _("warning threshold"),
        default=0.75,
        help_text=_("Share of the budget used at which the manager and supervisor are warned."),
    )

    class Meta:
        verbose_name = _("connection policy")
        verbose_name_plural = _("connection policies")
        ordering = ["budget_days", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not 0 < self.warn_fraction < 1:
            raise ValidationError({"warn_fraction": _("Use a share between 0 and 1, e.g. 0.75.")})

    @property
    def budget_seconds(self) -> int:
        return int(self.budget_days * DAY)


class PolicyStep(models.Model):
    """One step of a policy, in order, with its budget and who owns it."""

    policy = models.ForeignKey(
        Policy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="steps"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=80)
    budget_days = models.DecimalField(
        _("working days"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    owner = models.CharField(_("owner"), max_length=10, choices=StepOwner.choices)
    phase = models.CharField(
        _("phase"),
        max_length=10,
        choices=StepPhase.choices,
        default=StepPhase.CLOCK,
        help_text=_(
            "Steps on the clock count towards the policy's working days; milestones follow "
            "them, each with its own budget, up to handover."
        ),
    )

    class Meta:
        verbose_name = _("connection step")
        verbose_name_plural = _("connection steps")
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="connections_step_order"),
            models.UniqueConstraint(fields=["policy", "code"], name="connections_step_code"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    @property
    def budget_seconds(self) -> int:
        return int(self.budget_days * DAY)


class EligibilityRule(models.Model):
    """When an application qualifies for "221" (R-CON-1): no external-line approval or
    construction, a service pipe no larger than `max_pipe_mm` and an expected consumption
    no larger than `max_m3_per_day`. Administrators edit it; the active rule with the
    lowest pk applies; an application it refuses follows "431", with the reasons on the
    record."""

    name = models.CharField(_("name"), max_length=80)
    max_pipe_mm = models.PositiveIntegerField(_("largest pipe (DN, mm)"), default=50)
    max_m3_per_day = models.DecimalField(
        _("largest expected consumption (m³ a day)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("50"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _('"221" eligibility rule')
        verbose_name_plural = _('"221" eligibility rules')
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class FeeKind(models.TextChoices):
    WORKS = "works", _("Works")
    MATERIAL = "material", _("Material")
    METER = "meter", _("Meter")
    APPLICATION = "application", _("Application fee")
    HANDLING = "handling", _("Handling fee")


# Fees R-CON-4 forbids: nothing is ever charged for applying or for the paperwork.
FORBIDDEN_FEES = (FeeKind.APPLICATION, FeeKind.HANDLING)


class FeeItem(models.Model):
    """A line of the works-fee table: a service done and its price."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=12, choices=FeeKind.choices)
    service = models.CharField(
        _("service behind it"),
        max_length=200,
        blank=True,
        help_text=_("What the utility does for this price (an item with none is refused)."),
    )
    unit = models.CharField(_("unit"), max_length=10, default="项")
    unit_price = models.DecimalField(_("unit price (yuan)"), max_digits=10, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("works fee item")
        verbose_name_plural = _("works fee table")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind in FORBIDDEN_FEES:
            raise ValidationError(
                {"kind": _("No application or handling fee may be charged (R-CON-4).")}
            )
        if not self.service.strip():
            raise ValidationError(
                {"service": _("Say which service this fee pays for: a fee with none is refused.")}
            )
        if self.unit_price is not None and self.unit_price <= 0:
            raise ValidationError({"unit_price": _("A price must be more than zero.")})


class Channel(models.TextChoices):
    PORTAL = "portal", _("Online hall")
    COUNTER = "counter", _("Counter")
    PHONE = "phone", _("Phone (agent)")
    PROVINCIAL = "provincial", _("Provincial platform")


class ApplicantKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    PERSON = "person", _("Resident")


class DocumentKind(models.TextChoices):
    LICENCE = "licence", _("Business licence")
    ID_CARD = "id_card", _("Resident ID card")


class Use(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    BUSINESS = "business", _("Business")
    INDUSTRIAL = "industrial", _("Industrial")
    CONSTRUCTION = "construction", _("Construction site")
    REAL_ESTATE = "real_estate", _("Real-estate project")


class AppState(models.TextChoices):
    OPEN = "open", _("In progress")
    WATER_ON = "water_on", _("Water on")
    CANCELLED = "cancelled", _("Cancelled")


class ApplicationQuerySet(models.QuerySet["Application"]):
    def open(self) -> ApplicationQuerySet:
        return self.filter(state=AppState.OPEN)


class Application(models.Model):
    """One application for a new connection, from application to water on."""

    number = models.CharField(_("number"), max_length=24, unique=True)
    policy = models.ForeignKey(
        Policy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    applicant_kind = models.CharField(_("applicant"), max_length=12, choices=ApplicantKind.choices)
    applicant_name = models.CharField(_("applicant's name"), max_length=120)
    phone = models.CharField(_("phone (E.164)"), max_length=20)
    document_kind = models.CharField(_("document"), max_length=10, choices=DocumentKind.choices)
    document_number = models.CharField(_("USCC or ID number"), max_length=18, db_index=True)
    document = models.FileField(_("document file"), upload_to="connections/%Y/%m/")
    document_type = models.CharField(_("document type"), max_length=40)
    document_size = models.PositiveIntegerField(_("document size (bytes)"))
    premise = models.ForeignKey(
        "customers.Premise",
        verbose_name=_("premise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    address = models.CharField(_("address"), max_length=255, db_index=True)
    use = models.CharField(_("use"), max_length=14, choices=Use.choices)
    m3_per_day = models.DecimalField(
        _("expected consumption (m³ a day)"), max_digits=10, decimal_places=2
    )
    pipe_mm = models.PositiveIntegerField(_("pipe size (DN, mm)"))
    external_works = models.BooleanField(_("needs external-line works"), default=False)
    eligibility = models.TextField(_("why this policy"), blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.PROTECT,
        related_name="connection_applications",
    )
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("connections engineer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resident = models.ForeignKey(
        "portal.Resident",
        verbose_name=_("applicant in the online hall"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    external_ref = models.CharField(_("provincial platform id"), max_length=64, blank=True)
    partner = models.ForeignKey(
        "partners.PartnerClient",
        verbose_name=_("received through"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The partner system (the provincial platform) told of each step."),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=AppState.choices, default=AppState.OPEN
    )
    step = models.PositiveSmallIntegerField(_("current step"), default=1)
    created_at = models.DateTimeField(_("applied"), db_index=True)
    # Copied from the policy when applied.
    budget_seconds = models.PositiveIntegerField(_("budget (s of working days)"))
    warn_fraction = models.FloatField(_("warning threshold"))
    # None while the clock is paused (the customer's turn) or once finished.
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True, db_index=True)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breach noticed"), null=True, blank=True)
    water_on_at = models.DateTimeField(_("water on"), null=True, blank=True, db_index=True)
    # When the utility's clock stopped: water on (real estate: construction entry).
    clock_done_at = models.DateTimeField(_("clock stopped"), null=True, blank=True)
    utility_seconds = models.PositiveIntegerField(_("utility's working time (s)"), default=0)
    customer_seconds = models.PositiveIntegerField(_("customer's time (s)"), default=0)
    on_time = models.BooleanField(_("on time"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("connection application")
        verbose_name_plural = _("connection applications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_ref"],
                condition=~models.Q(external_ref=""),
                name="connections_external_ref_once",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state == AppState.OPEN

    @property
    def utility_days(self) -> float:
        return self.utility_seconds / DAY

    @property
    def customer_days(self) -> float:
        return self.customer_seconds / DAY


class ApplicationStep(models.Model):
    """A step of one application: its owner, its due time on the working-day clock."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="steps"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    budget_seconds = models.PositiveIntegerField(_("budget (s of working days)"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    phase = models.CharField(
        _("phase"), max_length=10, choices=StepPhase.choices, default=StepPhase.CLOCK
    )

    class Meta:
        verbose_name = _("step of an application")
        verbose_name_plural = _("steps of applications")
        ordering = ["application", "order"]
        constraints = [
            models.UniqueConstraint(fields=["application", "order"], name="connections_app_step")
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.order} {self.name}"


class PauseReason(models.TextChoices):
    BUDGET_REVIEW = "budget_review", _("Applicant reviewing the budget")
    CONTRACT = "contract", _("Contract signing")
    PAYMENT = "payment", _("Works-fee payment")
    CUSTOMER_WORKS = "customer_works", _("Customer's own works not ready")
    FORCE_MAJEURE = "force_majeure", _("Force majeure")


class ClockPause(models.Model):
    """Time on the customer's side (R-CON-2): the clock stops, with reason and evidence."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="pauses"
    )
    reason = models.CharField(_("reason"), max_length=16, choices=PauseReason.choices)
    evidence = models.CharField(_("evidence"), max_length=300)
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    started_by = models.CharField(_("paused by"), max_length=150)
    ended_by = models.CharField(_("resumed by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("customer-side pause")
        verbose_name_plural = _("customer-side pauses")
        ordering = ["application", "started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(ended_at__isnull=True),
                name="connections_one_open_pause",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.started_at:%Y-%m-%d %H:%M}"


class Entry(models.Model):
    """The application's own timeline: what happened, seen by staff and (when `public`)
    by the applicant."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="entries"
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=20)
    text = models.CharField(_("text"), max_length=300)
    actor = models.CharField(_("by"), max_length=150)
    public = models.BooleanField(_("shown to the applicant"), default=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["application", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text}"


class Quote(models.Model):
    """The works-fee quote from the survey; the contract is acknowledged on it."""

    application = models.OneToOneField(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="quote"
    )
    total = models.DecimalField(_("total (yuan)"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("quoted"))
    signer = models.CharField(_("signed by"), max_length=60, blank=True)
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    order = models.OneToOneField(
        "payments.PaymentOrder",
        verbose_name=_("payment order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    class Meta:
        verbose_name = _("works-fee quote")
        verbose_name_plural = _("works-fee quotes")

    def __str__(self) -> str:
        return f"{self.application} ¥{self.total}"


class QuoteLine(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines"
    )
    item = models.ForeignKey(
        FeeItem, verbose_name=_("fee item"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=80)
    service = models.CharField(_("service"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ¥{self.amount}"


class ManagerCall(models.Model):
    """The customer manager's twice-yearly call about the connection and its use
    (R-CON-5), counted from water on: one due every six months."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="calls"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_on = models.DateField(_("due"), db_index=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    note = models.TextField(_("what the customer said"), blank=True)

    class Meta:
        verbose_name = _("customer manager's call")
        verbose_name_plural = _("customer manager's calls")
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "due_on"], name="connections_call_once")
        ]

    def __str__(self) -> str:
        return f"{self.application} {self.due_on}"


class MonthlyRollup(models.Model):
    """The monthly report's figures for one month (Asia/Shanghai, the month of water on)
    and one policy, kept in the water-on transaction and rebuilt from the raw rows by the
    nightly reconciliation (`qingquan.connections.rollup`). Sums, not averages, so a
    month's figures add up; the utility's time is also kept as a histogram of exact
    seconds (seconds → applications) so the 90th percentile stays exact (decision 0014)."""

    month = models.DateField(_("month"))
    policy = models.CharField(_("policy"), max_length=20)
    applications = models.IntegerField(_("applications"), default=0)
    utility_seconds = models.BigIntegerField(_("utility's working time (s)"), default=0)
    customer_seconds = models.BigIntegerField(_("customer's time (s)"), default=0)
    steps = models.IntegerField(_("steps"), default=0)
    documents = models.IntegerField(_("documents"), default=0)
    on_time = models.IntegerField(_("on time"), default=0)
    histogram = models.JSONField(_("utility's time: seconds → applications"), default=dict)

    class Meta:
        verbose_name = _("monthly connections rollup")
        verbose_name_plural = _("monthly connections rollups")
        constraints = [
            models.UniqueConstraint(fields=["month", "policy"], name="connections_rollup_grain")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.policy}"


class RealEstateProject(models.Model):
    """A developer's supporting water project (R-CON-6) with its documented ready date
    (具备施工条件) and evidence (decision 0014; `services.realestate`)."""

    application = models.OneToOneField(
        Application,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="project",
    )
    name = models.CharField(_("project"), max_length=120)
    households = models.PositiveIntegerField(_("households"), default=0)
    ready_on = models.DateField(_("site ready on"), null=True, blank=True)
    ready_evidence = models.CharField(_("evidence of readiness"), max_length=300, blank=True)
    ready_document = models.FileField(
        _("readiness document"), upload_to="connections/ready/%Y/%m/", blank=True
    )
    ready_recorded_at = models.DateTimeField(_("readiness recorded"), null=True, blank=True)
    ready_recorded_by = models.CharField(_("recorded by"), max_length=150, blank=True)
    waiting_pause = models.OneToOneField(
        ClockPause,
        verbose_name=_("waiting for the ready date"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("real-estate project")
        verbose_name_plural = _("real-estate projects")

    def __str__(self) -> str:
        return self.name
