"""Callback services: creating tasks, recording attempts and outcomes, the survey link.

The final outcome goes onto the case through the tickets services (never by writing the
case here): a rating closes it (`ticket_callback_record`), a refusal closes it without a
rating (`ticket_close`), a dissatisfied customer reopens it — and escalates it when the
kind's policy says so — with the customer's words as the reason (`ticket_reopen`,
`ticket_escalate`). Unreachable customers are tried again up to the policy's attempts,
each attempt at another time of day; the last unreachable attempt is final.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from qingquan.core import clock, sla
from qingquan.core.actors import is_system, require_actor, system, user_of
from qingquan.core.audit import audit_record
from qingquan.core.calendar import load_calendar
from qingquan.core.notifications import notify
from qingquan.staff.access import can
from qingquan.surveys.models import (
    CallbackAttempt,
    CallbackPolicy,
    CallbackTask,
    CustomerManagerAssignment,
    Outcome,
)
from qingquan.tickets import services as tickets
from qingquan.tickets.errors import InvalidInput, NotAllowed, StaleVersion, TicketError
from qingquan.tickets.models import CallbackOutcome, Ticket, TicketState

SURVEY_SALT = "qingquan.surveys.link"
SURVEY_MAX_AGE = 7 * 86400
# Calls are made between these local hours; retries move to another time of day.
CALL_DAY = (dt.time(9, 0), dt.time(19, 0))
MANAGER_CALL_INTERVAL = dt.timedelta(days=182)


class SurveyLinkError(Exception):
    """A survey link that is expired, tampered with, unknown or already used."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def policy_for(kind: Any) -> CallbackPolicy:
    """The kind's own policy, its parent's, the default row, or the built-in default."""
    for candidate in (kind, getattr(kind, "parent", None)):
        if candidate is None:
            continue
        policy = CallbackPolicy.objects.filter(kind=candidate).first()
        if policy is not None:
            return policy
    default = CallbackPolicy.objects.filter(kind__isnull=True).first()
    return default or CallbackPolicy(mode=CallbackPolicy.Mode.ALWAYS)


def in_sample(number: str, percent: int) -> bool:
    """Deterministic sampling: the same case is always in or out of a given sample."""
    digest = hashlib.sha256(number.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < max(0, min(100, percent))


def due_after(start: dt.datetime, working_days: float) -> dt.datetime:
    """``start`` plus working days on the official calendar (core.sla)."""
    result = sla.deadline(
        clock=sla.Clock(kind=sla.ClockKind.WORKING_DAYS, calendar=load_calendar()),
        start=start,
        budget_seconds=sla.working_days(working_days),
    )
    if result.deadline is None:  # cannot happen without pauses; stay safe
        return start + dt.timedelta(days=working_days)
    return result.deadline


def next_attempt_time(previous: dt.datetime, hours: int) -> dt.datetime:
    """``hours`` after the last try, moved into calling hours (another time of day)."""
    candidate = (previous + dt.timedelta(hours=max(1, hours))).astimezone(clock.SHANGHAI)
    start, end = CALL_DAY
    if candidate.time() < start:
        candidate = candidate.replace(hour=start.hour, minute=start.minute)
    elif candidate.time() > end:
        candidate = (candidate + dt.timedelta(days=1)).replace(
            hour=start.hour + (previous.astimezone(clock.SHANGHAI).hour % 3), minute=0
        )
    return candidate


def _audit(actor: Any, action: str, task: CallbackTask, **after: Any) -> None:
    audit_record(
        actor=actor,
        action=f"callback.{action}",
        obj=task,
        after={"status": task.status, "outcome": task.outcome, **after},
    )


@transaction.atomic
def callback_task_for_resolution(*, ticket_id: int) -> CallbackTask | None:
    """Create the callback task for a case just resolved (idempotent per resolution round).

    The task goes to the case's first-contact owner (R-INTAKE-3), due within the kind's
    working days. Kinds sampled by their policy get a task only when the case's number
    falls in the sample; kinds with no callback get none.
    """
    ticket = Ticket.objects.select_related("kind", "kind__parent", "owner").get(pk=ticket_id)
    if ticket.state != TicketState.RESOLVED or ticket.resolved_at is None:
        return None
    policy = policy_for(ticket.kind)
    if policy.mode == CallbackPolicy.Mode.NEVER:
        return None
    purpose = CallbackTask.Purpose.CASE
    if policy.mode == CallbackPolicy.Mode.SAMPLE:
        if not in_sample(ticket.number, policy.sample_percent):
            return None
        purpose = CallbackTask.Purpose.SAMPLE
    existing = CallbackTask.objects.filter(ticket=ticket, round=ticket.reopen_count).first()
    if existing is not None:
        return existing
    now = clock.now()
    try:
        with transaction.atomic():
            task = CallbackTask.objects.create(
                purpose=purpose,
                ticket=ticket,
                round=ticket.reopen_count,
                customer=ticket.customer,
                assignee=ticket.owner,
                created_at=now,
                due_at=due_after(ticket.resolved_at, policy.due_working_days),
            )
    except IntegrityError:  # a concurrent run created it
        return CallbackTask.objects.get(ticket=ticket, round=ticket.reopen_count)
    _audit(system("callbacks"), "create", task, ticket=ticket.number, due=task.due_at)
    _survey_sms(task, ticket)
    link = reverse("surveys:mine")
    # Stored in this transaction (pushed to the browser once it commits): nothing after
    # the commit can fail the resolution that created the task.
    notify(
        recipient=task.assignee,
        title=_("Call back the customer of case %(number)s by %(due)s")
        % {
            "number": ticket.number,
            "due": f"{task.due_at.astimezone(clock.SHANGHAI):%Y-%m-%d %H:%M}",
        },
        link=link,
        dedupe_key=f"callback:{task.pk}",
    )
    return task


SURVEY_SMS_SOURCE = "callback.sms"
# The replies a survey SMS asks for, by outcome (digits first; full-width digits and the
# words themselves are accepted too).
SMS_ANSWERS = {
    "1": Outcome.SATISFIED,
    "2": Outcome.FAIRLY,
    "3": Outcome.DISSATISFIED,
}
SMS_WORDS = {"满意": "1", "基本满意": "2", "不满意": "3"}


def _survey_sms(task: CallbackTask, ticket: Ticket) -> None:
    """Queue the callback survey SMS to the caller's mobile (in the caller's transaction):
    "1 满意 2 基本满意 3 不满意"; the reply is recorded by `callback_sms_answer`."""
    from qingquan.customers import phones
    from qingquan.messaging.services import Outgoing, messages_queue

    if not ticket.caller_phone or not phones.is_mobile(ticket.caller_phone):
        return
    to = phones.normalise(ticket.caller_phone)[0]
    messages_queue(
        source=SURVEY_SMS_SOURCE,
        source_id=task.pk,
        urgent=False,
        messages=[
            Outgoing(
                channel="sms",
                to=to,
                template="callback_survey",
                # The SMS is in Chinese (the customers' language), whoever resolved it.
                body=(
                    f"您的工单 {ticket.number} 已办结。请回复数字评价我们的服务："
                    "1 满意 2 基本满意 3 不满意。"
                ),
                params={"number": ticket.number},
            )
        ],
    )


def sms_answer_of(text: str) -> str:
    """The outcome a reply to the survey SMS gives ("1", "１", "1 满意", "基本满意"), or ""
    when the text is anything else."""
    import unicodedata

    cleaned = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text or "")
        if not ch.isspace() and unicodedata.category(ch)[0] != "P"
    )
    if cleaned in SMS_WORDS:
        cleaned = SMS_WORDS[cleaned]
    digit, rest = cleaned[:1], cleaned[1:]
    if digit not in SMS_ANSWERS:
        return ""
    label = {v: k for k, v in SMS_WORDS.items()}[digit]
    return str(SMS_ANSWERS[digit]) if rest in ("", label) else ""


def callback_for_sms(phone: str) -> CallbackTask | None:
    """The open callback whose survey SMS went to `phone` (E.164), the latest first."""
    from qingquan.messaging.models import Message

    sent = Message.objects.filter(source=SURVEY_SMS_SOURCE, to=phone, channel="sms").values(
        "source_id"
    )
    return (
        CallbackTask.objects.filter(pk__in=sent, status=CallbackTask.Status.OPEN)
        .select_related("ticket")
        .order_by("-created_at", "-pk")
        .first()
    )


@transaction.atomic
def callback_sms_answer(*, task: CallbackTask, outcome: str) -> CallbackTask:
    """The customer's reply to the survey SMS: final, on the case, like the survey page."""
    if outcome not in SURVEY_ANSWERS:
        raise InvalidInput(_("Choose one answer."))
    task = callback_attempt_record(
        actor=system("survey"),
        task=task,
        version=None,
        outcome=outcome,
        note=_("Answered by SMS reply."),
    )
    task.via_survey = True
    task.save(update_fields=["via_survey"])
    return task


def _lock(task: CallbackTask, version: int | None) -> CallbackTask:
    locked = (
        CallbackTask.objects.select_for_update(of=("self",))
        .select_related("ticket", "ticket__kind", "ticket__kind__parent")
        .get(pk=task.pk)
    )
    if version is not None and locked.version != version:
        raise StaleVersion(_("This callback was changed by someone else. Reload it."))
    if not locked.is_open:
        raise InvalidInput(_("This callback is already done."))
    return locked


def may_call(user: Any, task: CallbackTask) -> bool:
    """The task's caller, or a supervisor, may record its outcome."""
    if not can(user, "surveys.callback"):
        return False
    return task.assignee_id == user.pk or can(user, "tickets.supervise")


def _apply_to_case(actor: Any, task: CallbackTask, outcome: str, words: str) -> None:
    """Put the final outcome on the case through the tickets services."""
    ticket = task.ticket
    if ticket is None:
        return
    ticket.refresh_from_db()
    if ticket.state != TicketState.RESOLVED:
        return  # closed or reopened meanwhile: the case already moved on
    note = words or str(Outcome(outcome).label)
    if outcome == Outcome.DECLINED:
        tickets.ticket_close(
            actor=actor,
            ticket=ticket,
            version=ticket.version,
            note=_("The customer declined the callback. %(words)s") % {"words": words},
        )
        return
    ticket = tickets.ticket_callback_record(
        actor=actor, ticket=ticket, version=ticket.version, outcome=outcome, note=note
    )
    if outcome != CallbackOutcome.DISSATISFIED:
        return
    reason = _("Dissatisfied at the callback: %(words)s") % {
        "words": words or _("(no words recorded)")
    }
    ticket = tickets.ticket_reopen(
        actor=actor, ticket=ticket, version=ticket.version, reason=reason
    )
    policy = policy_for(ticket.kind)
    if policy.on_dissatisfied == CallbackPolicy.OnDissatisfied.ESCALATE:
        # The system escalates on the policy's behalf (the caller may be an agent).
        tickets.ticket_escalate(
            actor=system("callback_policy"), ticket=ticket, version=ticket.version, note=reason
        )


@transaction.atomic
def callback_attempt_record(
    *, actor: Any, task: CallbackTask, version: int | None, outcome: str, note: str = ""
) -> CallbackTask:
    """Record one call for ``task``. Unreachable is retried by the policy; any other
    outcome (or the last unreachable try) is final and is put on the case."""
    if outcome not in Outcome.values:
        raise InvalidInput(_("Choose how the call went."))
    task = _lock(task, version)
    if not is_system(require_actor(actor)) and not may_call(actor, task):
        raise NotAllowed(_("Only the caller or a supervisor may record this callback."))
    now = clock.now()
    note = (note or "").strip()[:2000]
    CallbackAttempt.objects.create(
        task=task, at=now, actor=user_of(actor), outcome=outcome, note=note
    )
    task.attempts += 1
    task.version += 1
    policy = policy_for(task.ticket.kind) if task.ticket is not None else CallbackPolicy()
    if outcome == Outcome.UNREACHABLE and task.attempts < max(1, policy.max_attempts):
        task.next_attempt_at = next_attempt_time(now, policy.retry_hours)
        task.save()
        _audit(actor, "attempt", task, attempt=task.attempts, retry=task.next_attempt_at)
        return task
    task.status = CallbackTask.Status.DONE
    task.outcome = outcome
    task.comment = note
    task.completed_at = now
    task.completed_by = user_of(actor)
    task.next_attempt_at = None
    task.save()
    _audit(actor, "complete", task, attempt=task.attempts)
    try:
        _apply_to_case(actor, task, outcome, note)
    except TicketError as error:
        raise InvalidInput(str(error)) from error
    return task


# ---------------------------------------------------------------------------
# The public survey link
# ---------------------------------------------------------------------------


def survey_token(task: CallbackTask) -> str:
    """A signed, timestamped token naming the task (and its version: used once)."""
    return signing.TimestampSigner(salt=SURVEY_SALT).sign_object({"t": task.pk, "v": task.version})


def survey_url(task: CallbackTask) -> str:
    return reverse("surveys:survey", args=[survey_token(task)])


def survey_task(token: str, *, max_age: int = SURVEY_MAX_AGE) -> CallbackTask:
    """The open task a survey token names, or SurveyLinkError (expired, tampered, used)."""
    signer = signing.TimestampSigner(salt=SURVEY_SALT)
    try:
        data = signer.unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise SurveyLinkError(_("This survey link has expired."), status=410) from None
    except signing.BadSignature:
        raise SurveyLinkError(_("This survey link is not valid."), status=400) from None
    task = CallbackTask.objects.select_related("ticket").filter(pk=data.get("t")).first()
    if task is None:
        raise SurveyLinkError(_("This survey link is not valid."), status=404)
    if not task.is_open or task.version != data.get("v"):
        raise SurveyLinkError(_("This survey has already been answered. Thank you."), status=410)
    return task


SURVEY_ANSWERS = (Outcome.SATISFIED, Outcome.FAIRLY, Outcome.DISSATISFIED)


@transaction.atomic
def survey_answer(*, token: str, answer: str, comment: str = "") -> CallbackTask:
    """The customer's answer on the public survey page: final, on the case, once."""
    task = survey_task(token)
    if answer not in SURVEY_ANSWERS:
        raise InvalidInput(_("Choose one answer."))
    task = callback_attempt_record(
        actor=system("survey"), task=task, version=task.version, outcome=answer, note=comment[:1000]
    )
    task.via_survey = True
    task.save(update_fields=["via_survey"])
    return task


# ---------------------------------------------------------------------------
# Calls not tied to one case
# ---------------------------------------------------------------------------


@transaction.atomic
def manager_assign(*, actor: Any, manager: Any, customer: Any, since: dt.date) -> Any:
    """Name ``manager`` as the customer manager of business customer ``customer``."""
    from qingquan.customers.models import CustomerKind

    if customer.kind == CustomerKind.PERSON:
        raise InvalidInput(_("Customer managers serve organisations, not persons."))
    if not can(manager, "surveys.callback") or manager.role != "customer_manager":
        raise InvalidInput(_("Choose a customer manager."))
    CustomerManagerAssignment.objects.filter(customer=customer, is_active=True).update(
        is_active=False
    )
    row = CustomerManagerAssignment.objects.create(manager=manager, customer=customer, since=since)
    audit_record(
        actor=actor,
        action="callback.manager_assign",
        obj=row,
        after={"manager": manager.pk, "customer": customer.pk},
    )
    return row


@transaction.atomic
def schedule_manager_calls(*, now: dt.datetime | None = None) -> int:
    """Create each customer manager's twice-yearly call (R-CON-5) that is due; returns
    how many were created. A customer is due when its last manager call is 182 days old
    (or it has none) and no call is open."""
    now = now or clock.now()
    created = 0
    for row in CustomerManagerAssignment.objects.filter(is_active=True).select_related(
        "manager", "customer"
    ):
        calls = CallbackTask.objects.filter(
            purpose=CallbackTask.Purpose.MANAGER, customer=row.customer
        )
        if calls.filter(status=CallbackTask.Status.OPEN).exists():
            continue
        last = calls.order_by("-created_at").values_list("created_at", flat=True).first()
        if last is not None and now - last < MANAGER_CALL_INTERVAL:
            continue
        task = CallbackTask.objects.create(
            purpose=CallbackTask.Purpose.MANAGER,
            customer=row.customer,
            assignee=row.manager,
            created_at=now,
            due_at=due_after(now, 10),
        )
        _audit(system("callbacks"), "create", task, customer=row.customer_id)
        created += 1
    return created


def schedule_missed_resolutions(*, since: dt.datetime) -> int:
    """Safety net: a task for every resolved case since ``since`` that has none (e.g. the
    process died between the resolution and its on-commit hook). Returns tasks made."""
    made = 0
    ids = Ticket.objects.filter(state=TicketState.RESOLVED, resolved_at__gte=since).values_list(
        "pk", "reopen_count"
    )
    existing = set(
        CallbackTask.objects.filter(ticket__isnull=False, created_at__gte=since).values_list(
            "ticket_id", "round"
        )
    )
    for pk, round_ in ids:
        if (pk, round_) in existing:
            continue
        if callback_task_for_resolution(ticket_id=pk) is not None:
            made += 1
    return made
