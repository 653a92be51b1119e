"""Follow-up callbacks (回访): the task for the case owner, each attempt, the policy per kind.

A resolved case gets one callback task per resolution round (a reopened and resolved
again case gets a new one); the task's final outcome is what callback satisfaction
(回访满意率) counts. Customer managers' twice-yearly calls (R-CON-5) and sampled
callbacks are tasks too, marked by their ``purpose``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    FAIRLY = "fairly_satisfied", _("Fairly satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")
    UNREACHABLE = "unreachable", _("Unreachable")
    DECLINED = "declined", _("Declined to answer")


# Outcomes that reached the customer and gave a rating (the satisfaction denominator).
RATED = (Outcome.SATISFIED, Outcome.FAIRLY, Outcome.DISSATISFIED)
SATISFIED = (Outcome.SATISFIED, Outcome.FAIRLY)


class CallbackPolicy(models.Model):
    """How cases of one kind are called back; the row without a kind is the default."""

    class Mode(models.TextChoices):
        ALWAYS = "always", _("Every resolved case")
        SAMPLE = "sample", _("A sample of resolved cases")
        NEVER = "never", _("No callback")

    class OnDissatisfied(models.TextChoices):
        REOPEN = "reopen", _("Reopen the case")
        ESCALATE = "escalate", _("Reopen and escalate the case")

    kind = models.OneToOneField(
        "tickets.CaseKind",
        verbose_name=_("case kind"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="callback_policy",
        help_text=_("Leave empty for the default policy of every other kind."),
    )
    mode = models.CharField(_("which cases"), max_length=10, choices=Mode.choices)
    sample_percent = models.PositiveSmallIntegerField(
        _("sample (%)"), default=10, help_text=_("Only for sampled kinds, 1 to 100.")
    )
    due_working_days = models.FloatField(_("due within (working days)"), default=2)
    max_attempts = models.PositiveSmallIntegerField(_("attempts when unreachable"), default=3)
    retry_hours = models.PositiveSmallIntegerField(_("hours between attempts"), default=5)
    on_dissatisfied = models.CharField(
        _("when dissatisfied"),
        max_length=10,
        choices=OnDissatisfied.choices,
        default=OnDissatisfied.REOPEN,
    )

    class Meta:
        verbose_name = _("callback policy")
        verbose_name_plural = _("callback policies")
        ordering = ["kind__code"]

    def __str__(self) -> str:
        return str(self.kind) if self.kind_id else str(_("Default callback policy"))


class CallbackTask(models.Model):
    """One follow-up call to make: who calls whom, by when, and how it ended."""

    class Purpose(models.TextChoices):
        CASE = "case", _("Case callback")
        SAMPLE = "sample", _("Sampled callback")
        MANAGER = "manager", _("Customer manager's call")

    class Status(models.TextChoices):
        OPEN = "open", _("To do")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="callback_tasks",
    )
    # The resolution round of the case (its reopen count when resolved): one task each.
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="callback_tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("caller"),
        on_delete=models.PROTECT,
        related_name="callback_tasks",
    )
    created_at = models.DateTimeField(_("created"))
    due_at = models.DateTimeField(_("due"), db_index=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    comment = models.TextField(_("customer's words"), blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, db_index=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via_survey = models.BooleanField(_("answered on the survey page"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "round"],
                condition=models.Q(ticket__isnull=False),
                name="one_callback_per_resolution",
            )
        ]
        indexes = [models.Index(fields=["assignee", "status", "due_at"], name="callback_todo")]

    def __str__(self) -> str:
        target = self.ticket.number if self.ticket is not None else str(self.customer)
        return f"{self.get_purpose_display()} {target}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class CallbackAttempt(models.Model):
    """One call made for a task (or one survey answer), with what came of it."""

    task = models.ForeignKey(
        CallbackTask, verbose_name=_("callback"), on_delete=models.CASCADE, related_name="tries"
    )
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("callback attempt")
        verbose_name_plural = _("callback attempts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.outcome}"


class CustomerManagerAssignment(models.Model):
    """A customer manager serving a business customer they connected (R-CON-5)."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.PROTECT,
        related_name="managed_customers",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("business customer"),
        on_delete=models.CASCADE,
        related_name="manager_assignments",
    )
    since = models.DateField(_("since"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("customer manager assignment")
        verbose_name_plural = _("customer manager assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_active=True),
                name="one_active_manager_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.manager} → {self.customer}"
