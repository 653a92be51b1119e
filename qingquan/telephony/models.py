"""Calls from the phone system, the events that describe them, and agents' states.

The phone system (any PBX) posts CTI-webhook events (ring, answer, hangup) to
`/telephony/events`; `qingquan.telephony.services.call_event_handle` turns them into these
records. Views never save them.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def token_digest(token: str) -> str:
    """The stored form of a PBX token (SHA-256; tokens are long random strings)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Pbx(models.Model):
    """A phone system allowed to post call events, identified by its token."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    token_hash = models.CharField(_("token (SHA-256)"), max_length=64, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("phone system")
        verbose_name_plural = _("phone systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BlockedNumber(models.Model):
    """A number whose calls the platform asks the PBX to reject (harassment, robocalls)."""

    number = models.CharField(_("number (national digits)"), max_length=20, unique=True)
    reason = models.CharField(_("reason"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("blocked number")
        verbose_name_plural = _("blocked numbers")
        ordering = ["number"]

    def __str__(self) -> str:
        from qingquan.customers.privacy import mask

        return mask(self.number)


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallState(models.TextChoices):
    RINGING = "ringing", _("Waiting")
    ANSWERED = "answered", _("Talking")
    ENDED = "ended", _("Ended")


class CallOutcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    ABANDONED = "abandoned", _("Abandoned")
    REJECTED = "rejected", _("Rejected (blocked number)")
    SELF_SERVICE = "ivr", _("Self-service in the IVR")


class HangupCause(models.TextChoices):
    NORMAL = "normal", _("Normal clearing")
    BUSY = "busy", _("Busy")
    CANCEL = "cancel", _("Caller hung up")
    NO_ANSWER = "no_answer", _("No answer")
    REJECTED = "rejected", pgettext_lazy("call", "Rejected")
    FAILED = "failed", _("Failed")
    TRANSFER = "transfer", pgettext_lazy("call", "Transferred")


class CallQuerySet(models.QuerySet["Call"]):
    def waiting(self) -> CallQuerySet:
        return self.filter(state=CallState.RINGING, direction=Direction.INBOUND)

    def live(self) -> CallQuerySet:
        return self.exclude(state=CallState.ENDED)


class Call(models.Model):
    """One call as the phone system reported it, with its contact record once answered."""

    pbx = models.ForeignKey(Pbx, verbose_name=_("phone system"), on_delete=models.PROTECT)
    call_id = models.CharField(_("call id"), max_length=80)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.INBOUND
    )
    from_number = models.CharField(pgettext_lazy("call", "from"), max_length=40, blank=True)
    to_number = models.CharField(pgettext_lazy("call", "to"), max_length=40, blank=True)
    queue = models.CharField(_("queue"), max_length=40, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=CallState.choices, default=CallState.RINGING
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=CallOutcome.choices, blank=True)
    extension = models.CharField(_("extension"), max_length=10, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    rang_at = models.DateTimeField(_("rang"), db_index=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    hangup_cause = models.CharField(
        _("hangup cause"), max_length=20, choices=HangupCause.choices, blank=True
    )
    recording_ref = models.CharField(_("recording"), max_length=200, blank=True)
    line = models.CharField(_("IVR line"), max_length=20, blank=True)
    ivr_trace = models.JSONField(_("IVR path"), default=list, blank=True)
    contact = models.OneToOneField(
        "tickets.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call",
    )

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-rang_at", "-id"]
        constraints = [
            # A phone system may reuse a call id (a SIP Call-ID) for a later call: one live
            # call per id; ended ones keep theirs (services._call_for tells them apart).
            models.UniqueConstraint(
                fields=["pbx", "call_id"],
                condition=~models.Q(state="ended"),
                name="call_live_unique_per_pbx",
            )
        ]
        indexes = [
            # Every phone event finds its call by id, ended ones included (the partial
            # unique index above serves only the live ones).
            models.Index(fields=["pbx", "call_id"], name="call_pbx_call_id"),
            models.Index(fields=["state", "rang_at"], name="call_state_rang"),
            models.Index(fields=["agent", "state"], name="call_agent_state"),
        ]

    def __str__(self) -> str:
        from qingquan.customers.privacy import mask

        return f"{self.call_id} {mask(self.from_number)}"

    @property
    def wait_seconds(self) -> int | None:
        end = self.answered_at or self.ended_at
        return int((end - self.rang_at).total_seconds()) if end else None

    @property
    def talk_seconds(self) -> int | None:
        if self.answered_at and self.ended_at:
            return int((self.ended_at - self.answered_at).total_seconds())
        return None


class CallEvent(models.Model):
    """One event as received (idempotency: a repeated event id is answered, not applied)."""

    pbx = models.ForeignKey(Pbx, verbose_name=_("phone system"), on_delete=models.PROTECT)
    event_id = models.CharField(_("event id"), max_length=80)
    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=10)
    received_at = models.DateTimeField(pgettext_lazy("call event", "received"))
    payload = models.JSONField(_("payload"), default=dict)
    reply = models.JSONField(_("reply"), default=dict)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pbx", "event_id"], name="call_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.kind}"


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    ON_CALL = "on_call", _("On a call")
    WRAP_UP = "wrap_up", _("After-call work")
    BREAK = "break", _("On a break")
    OFFLINE = "offline", _("Signed out")


class AgentState(models.Model):
    """What an agent is doing now: set by call events and by the agent's own buttons."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="agent_state",
    )
    status = models.CharField(
        _("state"), max_length=10, choices=AgentStatus.choices, default=AgentStatus.OFFLINE
    )
    since = models.DateTimeField(_("since"))
    call = models.ForeignKey(
        Call,
        verbose_name=_("current call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("agent state")
        verbose_name_plural = _("agent states")

    def __str__(self) -> str:
        return f"{self.user} {self.status}"


# ---------------------------------------------------------------------------
# The IVR (电脑导航): flows as data, prompts, skills and callback requests
# ---------------------------------------------------------------------------


class IvrFlow(models.Model):
    """A named IVR flow; what it does is its newest version (:class:`IvrFlowVersion`)."""

    slug = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("IVR flow")
        verbose_name_plural = _("IVR flows")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    def current(self) -> IvrFlowVersion | None:
        return self.versions.order_by("-number").first()


class IvrFlowVersion(models.Model):
    """One saved state of a flow: its graph of nodes (see `qingquan.telephony.flows`), who
    saved it and why. Versions are never edited; a rollback saves an old graph again."""

    flow = models.ForeignKey(
        IvrFlow, verbose_name=_("IVR flow"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    graph = models.JSONField(_("nodes"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("saved"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("IVR flow version")
        verbose_name_plural = _("IVR flow versions")
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="ivr_flow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.number}"


class Prompt(models.Model):
    """A recorded announcement. Its audio is synthesised from `text` (cached by a hash of
    the text, so an edit regenerates it) unless a recording was uploaded."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    text = models.TextField(_("text"))
    recording = models.CharField(_("uploaded recording"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("prompt")
        verbose_name_plural = _("prompts")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


# The standard flow's queues (`flows.standard_graph`); a queue a supervisor adds in the
# flow editor is shown by its key.
QUEUE_LABELS = {
    "general": pgettext_lazy("queue", "General enquiries"),
    "repair": pgettext_lazy("queue", "Repairs"),
    "billing": pgettext_lazy("queue", "Bills and payments"),
    "complaint": pgettext_lazy("queue", "Complaints"),
    "connection": pgettext_lazy("queue", "New connections"),
}


def queue_label(key: str) -> str:
    """A queue's (skill's) name for people: the standard ones translated, others as set."""
    return str(QUEUE_LABELS.get(key, key))


class AgentSkill(models.Model):
    """A queue an agent answers (repair, bills, complaints…): the IVR queues by skill."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="skills",
    )
    skill = models.CharField(_("skill"), max_length=40)

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        ordering = ["user", "skill"]
        constraints = [models.UniqueConstraint(fields=["user", "skill"], name="agent_skill_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.skill}"


class CallbackStatus(models.TextChoices):
    OPEN = "open", _("Waiting")
    TAKEN = "taken", _("Taken")
    DONE = "done", _("Called back")


class CallbackOutcome(models.TextChoices):
    REACHED = "reached", _("Reached the caller")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class CallbackRequestQuerySet(models.QuerySet["CallbackRequest"]):
    def open(self) -> CallbackRequestQuerySet:
        return self.filter(status=CallbackStatus.OPEN)


class CallbackRequest(models.Model):
    """ "Press 1 to be called back": a caller's number for the next free agent."""

    number = models.CharField(_("number"), max_length=40)
    skill = models.CharField(_("skill"), max_length=40, blank=True)
    call = models.ForeignKey(
        Call,
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callback_requests",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.OPEN
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=CallbackOutcome.choices, blank=True
    )
    done_at = models.DateTimeField(_("called back"), null=True, blank=True)
    contact = models.ForeignKey(
        "tickets.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = CallbackRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        from qingquan.customers.privacy import mask

        return mask(self.number)


class LineHealth(models.Model):
    """The last health report of one IVR line (or of the SIP stack as a whole, line "*"),
    from its driver. A line down, or silent longer than TELEPHONY_LINE_HEARTBEAT_SECONDS,
    sends its callers straight to the agents' queue and shows on the wallboard."""

    line = models.CharField(_("IVR line"), max_length=20, unique=True)
    up = models.BooleanField(_("up"), default=True)
    since = models.DateTimeField(_("since"))
    reported_at = models.DateTimeField(_("last report"))
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("IVR line health")
        verbose_name_plural = _("IVR line health")
        ordering = ["line"]

    def __str__(self) -> str:
        return self.line


class CallbackAttempt(models.Model):
    """One callback made: who called the requester back, when, and how it went (the
    statistics count these; the request keeps only its latest outcome)."""

    request = models.ForeignKey(
        CallbackRequest,
        verbose_name=_("callback request"),
        on_delete=models.CASCADE,
        related_name="tries",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallbackOutcome.choices)
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("callback attempt")
        verbose_name_plural = _("callback attempts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.outcome}"
