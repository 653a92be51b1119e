"""The steps of an application (accepted → survey, meter fitted and connected → water
on), the customer-side pauses of its clock, and water on."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.connections.models import (
    Application,
    ApplicationStep,
    AppState,
    ClockPause,
    PauseReason,
    PolicyCode,
    StepOwner,
    StepPhase,
)
from qingquan.connections.services.base import (
    NotOwner,
    Refused,
    actor_label,
    audit,
    bump,
    entry,
    lock,
    refresh_clock,
    utility_and_customer_seconds,
)
from qingquan.core import actors, clock
from qingquan.core.validation import clean_text
from qingquan.staff.access import check
from qingquan.staff.roles import Role


def current_step(application: Application) -> ApplicationStep:
    return ApplicationStep.objects.get(application=application, order=application.step)


def _owner_check(actor: Any, step: ApplicationStep) -> None:
    if actors.is_system(actor):
        return
    user = actors.user_of(actor)
    if user is None or step.owner_id != getattr(user, "pk", None):
        owner = step.owner
        raise NotOwner(
            _('Step "%(step)s" belongs to %(owner)s: only its owner may take it.')
            % {
                "step": step.name,
                "owner": (owner.get_full_name() or owner.get_username())
                if owner
                else _("nobody yet"),
            }
        )


def _engineer_check(engineer: Any) -> Any:
    if engineer is None or engineer.role not in (Role.BACK_OFFICE, Role.CUSTOMER_MANAGER):
        raise Refused(
            _("Name the connections engineer who surveys and fits the meter."), field="engineer"
        )
    if not engineer.is_active:
        raise Refused(
            _("Name the connections engineer who surveys and fits the meter."), field="engineer"
        )
    return engineer


def step_complete(
    *,
    actor: Any,
    application: Application,
    version: int | None = None,
    note: str = "",
    engineer: Any = None,
) -> Application:
    """Finish the current step (its owner only) and start the next one; the last step
    is water on. Completing a step whose next one belongs to the engineer names the
    engineer. Refused while the clock is paused on the customer's side, and for water on
    while a quoted works fee is unpaid."""
    check(actor, "connections.work")
    note = clean_text(note, field=_("note"), max_length=500, multiline=True)
    with transaction.atomic():
        app = lock(application, version)
        step = current_step(app)
        _owner_check(actor, step)
        following = (
            ApplicationStep.objects.filter(application=app, order__gt=step.order)
            .order_by("order")
            .first()
        )
        # The clock stops with its last step (water on; for real estate construction
        # entry, after which the milestones follow up to handover).
        clock_end = app.clock_done_at is None and (
            following is None or following.phase == StepPhase.MILESTONE
        )
        if following is None or clock_end:
            _unpaid_check(app)
        if step.phase == StepPhase.MILESTONE and not note:
            raise Refused(
                _("Record what was done for this milestone (a report number, an acceptance…)."),
                field="note",
            )
        if ClockPause.objects.filter(application=app, ended_at__isnull=True).exists():
            raise Refused(_("The clock is paused on the customer's side: resume it first."))
        now = clock.now()
        user = actors.user_of(actor)
        ApplicationStep.objects.filter(pk=step.pk).update(
            done_at=now, done_by=user if getattr(user, "pk", None) else None, note=note
        )
        entry(app, "step", _("Step done: %(s)s.") % {"s": step.name}, actor=actor)
        if clock_end:
            _clock_end(actor, app, now, entered=following is not None)
        if following is None:
            _water_on(actor, app, now)
        else:
            _start(actor, app, following, now, engineer)
        audit(actor, "step", app, step=step.code, note=note)
    return app


def _clock_end(actor: Any, app: Application, now: Any, *, entered: bool) -> None:
    """The utility's clock stops: its working time and the customer's are fixed, and
    whether it kept the policy's budget. `entered`: construction entry of a real-estate
    project (milestones follow), else water on."""
    utility, customer = utility_and_customer_seconds(app, end=now)
    on_time = utility <= app.budget_seconds
    bump(
        app,
        clock_done_at=now,
        utility_seconds=utility,
        customer_seconds=customer,
        on_time=on_time,
        deadline=None,
        warn_at=None,
    )
    if entered:
        entry(
            app,
            "entry",
            _(
                "Construction entry (进场施工) after %(d).2f working days of the utility's "
                "time (%(b)s allowed)."
            )
            % {"d": utility / 86400, "b": f"{app.budget_seconds / 86400:g}"},
            actor=actor,
        )
    audit(
        actor, "clock_end", app, utility_seconds=utility, customer_seconds=customer, on_time=on_time
    )


def _unpaid_check(app: Application) -> None:
    from qingquan.connections.models import Quote

    quote = Quote.objects.filter(application=app).first()
    if quote is not None and quote.paid_at is None:
        raise Refused(_("The works fee of %(t)s yuan is not paid yet.") % {"t": quote.total})


def _start(actor: Any, app: Application, step: ApplicationStep, now: Any, engineer: Any) -> None:
    from qingquan.connections.models import PolicyStep

    definition = PolicyStep.objects.filter(policy=app.policy_id, code=step.code).first()
    owner = step.owner
    fields: dict[str, Any] = {"step": step.order}
    if definition is not None and definition.owner == StepOwner.ENGINEER:
        owner = _engineer_check(engineer or app.engineer)
        fields["engineer"] = owner
    if owner is None:
        owner = app.manager
    ApplicationStep.objects.filter(pk=step.pk).update(started_at=now, owner=owner)
    bump(app, **fields)
    refresh_clock(app)
    entry(
        app,
        "start",
        _("Next: %(s)s, by %(o)s.") % {"s": step.name, "o": owner.get_full_name() or owner},
        actor=actor,
    )


def _water_on(actor: Any, app: Application, now: Any) -> None:
    """The last step: water on (for real estate, handover); the utility's time and the
    customer's were fixed when the clock stopped."""
    bump(app, state=AppState.WATER_ON, water_on_at=now, deadline=None, warn_at=None)
    if app.policy.code == PolicyCode.REAL_ESTATE:
        text = _("Handed over (移交) with water on; construction entry took %(d).2f working days.")
    else:
        text = _("Water on (开栓通水) after %(d).2f working days of the utility's time.")
    entry(app, "water_on", text % {"d": app.utility_seconds / 86400}, actor=actor)
    audit(actor, "water_on", app, utility_seconds=app.utility_seconds, on_time=app.on_time)
    from qingquan.connections import rollup
    from qingquan.connections.services.managers import manager_calls_schedule

    manager_calls_schedule(application=app, start=now)
    rollup.application_added(
        application=app, steps=ApplicationStep.objects.filter(application=app).count()
    )


def pause_start(
    *,
    actor: Any,
    application: Application,
    reason: str,
    evidence: str,
    version: int | None = None,
) -> ClockPause:
    """Stop the clock for time on the customer's side (R-CON-2), with its reason and
    evidence; by the current step's owner or the customer manager (or the system)."""
    check(actor, "connections.work")
    if reason not in PauseReason.values:
        raise Refused(_("Choose why the clock stops."), field="reason")
    evidence = clean_text(evidence, field=_("evidence"), max_length=300)
    if not evidence:
        raise Refused(
            _("Give the evidence of the customer's side (a document, a message, a date)."),
            field="evidence",
        )
    with transaction.atomic():
        app = lock(application, version)
        _pauser_check(actor, app)
        return _pause(actor, app, reason, evidence)


def _pauser_check(actor: Any, app: Application) -> None:
    if actors.is_system(actor):
        return
    user = actors.user_of(actor)
    if getattr(user, "pk", None) == app.manager_id:
        return
    _owner_check(actor, current_step(app))


def _pause(actor: Any, app: Application, reason: str, evidence: str) -> ClockPause:
    if ClockPause.objects.filter(application=app, ended_at__isnull=True).exists():
        raise Refused(_("The clock is already paused."))
    pause = ClockPause.objects.create(
        application=app,
        reason=reason,
        evidence=evidence,
        started_at=clock.now(),
        started_by=actor_label(actor),
    )
    bump(app)
    refresh_clock(app)
    entry(
        app,
        "pause",
        _("Clock paused, waiting on the applicant: %(r)s (%(e)s).")
        % {"r": pause.get_reason_display(), "e": evidence},
        actor=actor,
    )
    audit(actor, "pause", app, reason=reason, evidence=evidence)
    return pause


def pause_end(
    *, actor: Any, application: Application, version: int | None = None, reason: str = ""
) -> ClockPause:
    """Resume the clock (the customer's side is done). With `reason`, only a pause for
    that reason is ended (the payment notify ends a payment pause only)."""
    check(actor, "connections.work")
    with transaction.atomic():
        app = lock(application, version)
        _pauser_check(actor, app)
        return _resume(actor, app, reason)


def _resume(actor: Any, app: Application, reason: str = "") -> ClockPause:
    from qingquan.connections.services.realestate import waiting_for_ready

    pause = ClockPause.objects.filter(application=app, ended_at__isnull=True).first()
    if pause is None or (reason and pause.reason != reason):
        raise Refused(_("The clock is not paused."))
    if waiting_for_ready(app, pause):
        raise Refused(_("Record the documented ready date of the site: that starts the clock."))
    pause.ended_at = clock.now()
    pause.ended_by = actor_label(actor)
    ClockPause.objects.filter(pk=pause.pk).update(ended_at=pause.ended_at, ended_by=pause.ended_by)
    bump(app)
    refresh_clock(app)
    entry(
        app,
        "resume",
        _("Clock running again: %(r)s done.") % {"r": pause.get_reason_display()},
        actor=actor,
    )
    audit(actor, "resume", app, reason=pause.reason)
    return pause


def application_cancel(
    *, actor: Any, application: Application, reason: str, version: int | None = None
) -> Application:
    """Withdraw an application (the applicant's wish, by the manager), with the reason."""
    check(actor, "connections.work")
    reason = clean_text(reason, field=_("reason"), max_length=300)
    if not reason:
        raise Refused(_("Say why the application is cancelled."), field="reason")
    with transaction.atomic():
        app = lock(application, version)
        user = actors.user_of(actor)
        if not actors.is_system(actor) and getattr(user, "pk", None) != app.manager_id:
            raise NotOwner(_("Only the application's customer manager may cancel it."))
        ClockPause.objects.filter(application=app, ended_at__isnull=True).update(
            ended_at=clock.now(), ended_by=actor_label(actor)
        )
        bump(app, state=AppState.CANCELLED, deadline=None, warn_at=None)
        entry(app, "cancel", _("Cancelled: %(r)s") % {"r": reason}, actor=actor)
        audit(actor, "cancel", app, reason=reason)
    return app
