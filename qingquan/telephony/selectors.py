"""Reads about calls and agent states, with the access check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.core.db import fastselect
from qingquan.staff.access import can
from qingquan.staff.models import User
from qingquan.telephony.models import AgentState, AgentStatus, BlockedNumber, Call, CallState


def agents_with_extension() -> QuerySet[User]:
    """Staff with a phone extension (who a call can be answered by)."""
    return User.objects.filter(is_active=True).exclude(extension="").order_by("extension")


def agent_state_of(user: Any) -> AgentState:
    """The user's state row (an unsaved "signed out" one if they never had a state)."""
    state = AgentState.objects.filter(user=user).select_related("call").first()
    return state or AgentState(user=user, status=AgentStatus.OFFLINE, since=clock.now())


def current_call(*, user: Any) -> Call | None:
    """The call the agent's state is about: the live call while on a call, the call just
    ended during after-call work, else None (for someone without a state row yet: a call
    of theirs that ended in the last 2 minutes).

    The agent's state row is the one truth (set by the call events), so the banner, the
    state label and the wallboard cannot disagree; a call whose hangup never arrived does
    not pop again once the agent has taken another."""
    if not can(user, "console.use"):
        raise AccessDenied(capability="console.use")
    state = AgentState.objects.filter(user=user).select_related("call").first()
    if state is not None:
        live_states = (AgentStatus.ON_CALL, AgentStatus.WRAP_UP)
        # Available (or on a break) again: the last call is over for the console too.
        return state.call if state.status in live_states else None
    recent = clock.now() - dt.timedelta(minutes=2)
    return (
        Call.objects.filter(agent=user, state=CallState.ENDED, ended_at__gte=recent)
        .order_by("-ended_at")
        .first()
    )


def ringing_for(*, user: Any) -> list[Call]:
    """Calls ringing now that this agent may take: offered to their extension, else the
    queue's waiting calls (longest waiting first), so the console shows a ring before the
    answer."""
    if not can(user, "console.use"):
        raise AccessDenied(capability="console.use")
    waiting = Call.objects.waiting().order_by("rang_at")
    extension = getattr(user, "extension", "")
    if extension:
        mine = list(waiting.filter(extension=extension)[:5])
        if mine:
            return mine
    return list(waiting.filter(extension="")[:5])


def simulator_live_calls() -> QuerySet[Call]:
    """Calls of the demo phone system not yet ended (the simulator re-reads them on every
    visit, so a call survives navigating away)."""
    from qingquan.telephony.demo import DEMO_PBX_NAME

    return (
        Call.objects.filter(pbx__name=DEMO_PBX_NAME)
        .exclude(state=CallState.ENDED)
        .select_related("agent")
        .order_by("-rang_at", "-id")
    )


def call_for(*, user: Any, call_pk: int) -> Call:
    """A call the user may open: their own, or any for wallboard viewers. Call.DoesNotExist."""
    if not can(user, "console.use"):
        raise AccessDenied(capability="console.use")
    # The screen pop asks this at every answered call: a precompiled statement.
    found: list[Call] = fastselect.rows(Call, id=call_pk)
    if not found:
        raise Call.DoesNotExist("No such call.")
    call = found[0]
    if call.agent_id == user.pk:
        call.agent = user  # not read again
    elif not can(user, "wallboard.view"):
        raise Call.DoesNotExist("No such call that this user may open.")
    return call


def recent_calls(*, user: Any) -> QuerySet[Call]:
    if not can(user, "wallboard.view") and not can(user, "telephony.simulate"):
        return Call.objects.none()
    return Call.objects.select_related("agent").order_by("-rang_at", "-id")


def waiting_calls() -> QuerySet[Call]:
    return Call.objects.waiting().order_by("rang_at")


def blocked_numbers() -> QuerySet[BlockedNumber]:
    return BlockedNumber.objects.filter(active=True).select_related("created_by")


# ---------------------------------------------------------------------------
# The telephony API's reads (contacts, the queue, the caller's own state)
# ---------------------------------------------------------------------------


class FilterError(ValueError):
    """A filter value that cannot be used (the API answers 400 with this message)."""


def contacts_filtered(
    *,
    user: Any,
    day_from: dt.date | None = None,
    day_to: dt.date | None = None,
    agent: str = "",
    channel: str = "",
    outcome: str = "",
) -> QuerySet[Any]:
    """Contacts ``user`` may see (their own; all with `tickets.view_all`), newest first,
    filtered by local days ``day_from``..``day_to`` (both included), the agent's username,
    the channel and the call outcome (``none`` for contacts that were not calls).

    PermissionDenied for a role without `tickets.view`, or when someone who sees only
    their own contacts asks for another agent's."""
    from qingquan.telephony.models import CallOutcome
    from qingquan.tickets.models import Channel
    from qingquan.tickets.selectors import contacts_visible_to

    if not can(user, "tickets.view"):
        raise AccessDenied(capability="tickets.view")
    qs = contacts_visible_to(user)
    if agent:
        if not can(user, "tickets.view_all") and agent != user.username:
            raise AccessDenied(capability="tickets.view_all")
        qs = qs.filter(agent__username=agent)
    if channel:
        if channel not in Channel.values:
            raise FilterError(
                f"Unknown channel {channel!r}; use one of {', '.join(Channel.values)}."
            )
        qs = qs.filter(channel=channel)
    if outcome:
        if outcome == "none":
            qs = qs.filter(call__isnull=True)
        elif outcome in CallOutcome.values:
            qs = qs.filter(call__outcome=outcome)
        else:
            choices = ", ".join([*CallOutcome.values, "none"])
            raise FilterError(f"Unknown outcome {outcome!r}; use one of {choices}.")
    if day_from and day_to and day_to < day_from:
        raise FilterError("date_to is before date_from.")
    if day_from:
        qs = qs.filter(started_at__gte=_local_midnight(day_from))
    if day_to:
        qs = qs.filter(started_at__lt=_local_midnight(day_to + dt.timedelta(days=1)))
    return qs.select_related("call").order_by("-started_at", "-id")


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.SHANGHAI)


def contact_for(*, user: Any, pk: int) -> Any:
    """One contact ``user`` may see; Contact.DoesNotExist otherwise (also for others')."""
    return contacts_filtered(user=user).get(pk=pk)


def own_state(*, user: Any) -> AgentState:
    """The caller's own console state (agents and supervisors only)."""
    if not can(user, "console.use"):
        raise AccessDenied(capability="console.use")
    return agent_state_of(user)


def calls_waiting(*, user: Any) -> QuerySet[Call]:
    """Inbound calls ringing in the queue, longest waiting first."""
    if not can(user, "telephony.queue"):
        raise AccessDenied(capability="telephony.queue")
    return waiting_calls()


def recording_for(*, user: Any, contact_id: int) -> tuple[Any, Path]:
    """The contact `contact_id` and its recording file, if `user` may listen to it:
    the `telephony.recordings` capability and a contact they may see (agents: their own).
    AccessDenied without the right; Http404 for a contact they cannot see or without a
    stored recording (only files under TELEPHONY_RECORDING_DIR are served)."""
    from django.conf import settings
    from django.http import Http404

    from qingquan.staff.access import check
    from qingquan.tickets.selectors import visible_contact

    check(user, "telephony.recordings")
    contact = visible_contact(user=user, pk=contact_id)
    if contact is None or not contact.recording_ref:
        raise Http404("no recording")
    root = Path(settings.TELEPHONY_RECORDING_DIR).resolve()
    path = Path(contact.recording_ref)
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("no recording")
    return contact, path


def callbacks_for(*, user: Any) -> dict[str, list[Any]]:
    """The callback requests an agent works: the waiting ones they may take (their skills'
    first, then oldest first) and the ones they took; supervisors see who took the rest."""
    from qingquan.telephony.models import AgentSkill, CallbackRequest, CallbackStatus

    if not can(user, "console.use"):
        raise AccessDenied(capability="console.use")
    skills = set(AgentSkill.objects.filter(user=user).values_list("skill", flat=True))
    rows = CallbackRequest.objects.select_related("assignee", "call").order_by("created_at", "pk")
    waiting = list(rows.filter(status=CallbackStatus.OPEN)[:200])
    waiting.sort(key=lambda r: (bool(skills) and r.skill not in skills, r.created_at))
    mine = list(rows.filter(status=CallbackStatus.TAKEN, assignee=user))
    others: list[Any] = []
    if can(user, "wallboard.view"):
        others = list(rows.filter(status=CallbackStatus.TAKEN).exclude(assignee=user)[:100])
    done = list(
        rows.filter(status=CallbackStatus.DONE, assignee=user).order_by("-done_at", "-pk")[:20]
    )
    return {"waiting": waiting, "mine": mine, "others": others, "done": done}


def callbacks_waiting_count() -> int:
    from qingquan.telephony.models import CallbackRequest

    return CallbackRequest.objects.open().count()
