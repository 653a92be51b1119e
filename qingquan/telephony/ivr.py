"""The IVR engine (电脑导航): runs a flow graph (`qingquan.telephony.flows`) for one call,
independent of the media layer.

The media layer is a :class:`Driver` (answer, play, collect digits, transfer, record, wait,
hang up): :class:`FakeDriver` for tests and the in-page test call,
`qingquan.telephony.baresip.BaresipDriver` for real SIP. The engine records the call through
the same services the CTI webhook uses (ring, then the agent's answer and the hang-up), so
the console's screen pop, contacts and the wallboard work the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.core.calendar import is_working_day_or_weekday
from qingquan.telephony import flows, notices_port, speech
from qingquan.telephony.models import (
    AgentSkill,
    AgentState,
    AgentStatus,
    Call,
    CallbackRequest,
    CallState,
    Pbx,
    Prompt,
    token_digest,
)
from qingquan.telephony.seats import holding
from qingquan.telephony.seats import seat_answered as seat_answered
from qingquan.telephony.seats import seat_ended as seat_ended
from qingquan.telephony.services import EventIn, EventResult, call_event_handle

log = logging.getLogger(__name__)

IVR_PBX_NAME = "IVR"
MAX_STEPS = 200  # a flow that loops longer than this sends the caller to an agent
_OFFER_LOCK = threading.Lock()  # the IVR lines of one process offer agents one at a time


class CallerGone(Exception):
    """The caller hung up (raised by a driver from any call)."""


@dataclass(frozen=True)
class Speech:
    """What to say: the prompt key (for an uploaded recording) and the text to speak."""

    key: str
    text: str
    dynamic: bool = False  # text with the caller's values in it (never an uploaded file)


class Driver(Protocol):
    """The media layer of one IVR line, for one call at a time."""

    def answer(self) -> None: ...

    def play(self, speech: Speech) -> None: ...

    def collect(self, *, max_digits: int, timeout: float, terminator: str = "#") -> str:
        """Keys pressed (without the terminator); "" when nothing came in `timeout` s."""
        ...

    def transfer(self, target: str) -> bool:
        """Hand the caller to `target` (an agent extension); False if it failed."""
        ...

    def record(self, name: str) -> str:
        """Start recording this call; returns the recording reference."""
        ...

    def wait(self, seconds: float) -> None: ...

    def hangup(self) -> None: ...

    def healthy(self) -> bool:
        """Whether the line's media layer works (prompts, keys); False sends the caller
        straight to the agents' queue and reports the line down."""
        ...


@dataclass
class FakeDriver:
    """A scripted caller: `keys` are the answers to successive collects ("" or None =
    pressed nothing). Everything the IVR did is in `log`; `gone_after` collects, the
    caller hangs up."""

    keys: Iterable[str | None] = ()
    transfer_ok: bool = True
    gone_after: int | None = None
    line_up: bool = True
    log: list[tuple[str, str]] = field(default_factory=list)
    waited: float = 0.0

    def __post_init__(self) -> None:
        self._keys = list(self.keys)
        self._collects = 0

    def answer(self) -> None:
        self.log.append(("answer", ""))

    def play(self, speech: Speech) -> None:
        self.log.append(("play", speech.text))

    def collect(self, *, max_digits: int, timeout: float, terminator: str = "#") -> str:
        if self.gone_after is not None and self._collects >= self.gone_after:
            raise CallerGone
        self._collects += 1
        pressed = self._keys.pop(0) if self._keys else None
        self.log.append(("collect", pressed or ""))
        return (pressed or "").split(terminator)[0][:max_digits]

    def transfer(self, target: str) -> bool:
        self.log.append(("transfer", target))
        return self.transfer_ok

    def record(self, name: str) -> str:
        self.log.append(("record", name))
        return f"fake:{name}.wav"

    def wait(self, seconds: float) -> None:
        self.waited += seconds
        self.log.append(("wait", str(seconds)))

    def hangup(self) -> None:
        self.log.append(("hangup", ""))

    def healthy(self) -> bool:
        return self.line_up

    @property
    def played(self) -> list[str]:
        return [text for kind, text in self.log if kind == "play"]


# ---------------------------------------------------------------------------
# What the engine asks of the rest of the platform
# ---------------------------------------------------------------------------


def ivr_pbx() -> Pbx:
    """The platform's own phone system (the IVR lines), made on first use."""
    pbx = Pbx.objects.filter(name=IVR_PBX_NAME).first()
    if pbx is None:
        pbx, _ = Pbx.objects.get_or_create(
            name=IVR_PBX_NAME,
            defaults={
                "token_hash": token_digest(secrets.token_urlsafe(32)),
                "created_at": clock.now(),
            },
        )
    return pbx


def prompt_text(key: str) -> str:
    text = Prompt.objects.filter(key=key).values_list("text", flat=True).first()
    return text if text is not None else flows.STANDARD_PROMPTS.get(key, key)


def say(key: str, **values: str) -> Speech:
    text = prompt_text(key)
    if values:
        try:
            text = text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.warning("prompt %s does not fit its values %s", key, sorted(values))
        return Speech(key=key, text=text, dynamic=True)
    return Speech(key=key, text=text)


@dataclass(frozen=True)
class BillInfo:
    account: str
    amount: Decimal
    due: dt.date | None


def bill_lookup(account_number: str) -> BillInfo | None:
    """What account `account_number` owes and by when; None for an unknown account."""
    from qingquan.customers.models import Account

    account = Account.objects.filter(number=account_number).first()
    if account is None:
        return None
    open_bills = account.bills.open().order_by("due_date")
    first = open_bills.first()
    due = first.due_date if first is not None else None
    return BillInfo(account=account.number, amount=account.balance(), due=due)


def is_open(now: dt.datetime, start: str = "08:00", end: str = "18:00") -> bool:
    """Working hours: a working day of the calendar in qingquan.core, start ≤ time < end."""
    local = now.astimezone(clock.SHANGHAI)
    if not is_working_day_or_weekday(local.date()):
        return False
    return start <= local.strftime("%H:%M") < end


def pick_agent(skill: str, *, exclude: Iterable[int] = ()) -> Any:
    """The longest-idle available agent with `skill` (agents without listed skills take
    any queue) who has an extension and is not being offered another call."""
    from qingquan.staff.models import User

    skilled = AgentSkill.objects.filter(user=OuterRef("user"), skill=skill)
    any_skill = AgentSkill.objects.filter(user=OuterRef("user"))
    state = (
        AgentState.objects.filter(
            status=AgentStatus.AVAILABLE, user__is_active=True, user__extension__gt=""
        )
        .annotate(skilled=Exists(skilled), specialist=Exists(any_skill))
        .filter(Q(skilled=True) | Q(specialist=False))
        .exclude(user_id__in=list(exclude))
        .order_by("since", "user_id")
    )
    for row in state.select_related("user")[:20]:
        user: User = row.user
        if not Call.objects.filter(state=CallState.RINGING, extension=user.extension).exists():
            return user
    return None


def queue_position(call: Call) -> int:
    """1 + the callers waiting in the same queue who came before."""
    ahead = (
        Call.objects.filter(state=CallState.RINGING, queue=call.queue, extension="")
        .exclude(pk=call.pk)
        .filter(rang_at__lt=call.rang_at)
        .count()
    )
    return ahead + 1


@transaction.atomic
def callback_request(*, call: Call, skill: str) -> CallbackRequest:
    """ "Press 1 to be called back": the caller's number for the next free agent."""
    request = CallbackRequest.objects.create(
        number=call.from_number, skill=skill, call=call, created_at=clock.now()
    )
    audit_record(
        actor=system("ivr"),
        action="telephony.callback.request",
        obj=request,
        after={"skill": skill},
    )
    return request


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


@dataclass
class Result:
    """How the IVR part of a call ended: "transferred", "self_service", "hangup" (by the
    IVR), "callback" or "caller_gone"; the agent for a transfer."""

    ending: str
    agent: Any = None
    call: Call | None = None


class Session:
    """One call through one flow graph on one driver."""

    def __init__(
        self,
        *,
        driver: Driver,
        caller: str,
        called: str = "96390",
        line: str = "1",
        graph: dict[str, Any] | None = None,
        call_id: str = "",
        now: Callable[[], dt.datetime] = clock.now,
        agent_uri: Callable[[Any], str] = lambda user: str(user.extension),
    ) -> None:
        self.driver = driver
        self.caller = caller
        self.called = called
        self.line = line
        self.graph = graph or flows.active_graph()
        self.call_id = call_id or f"ivr-{secrets.token_hex(8)}"
        self.key = secrets.token_hex(4)  # this session's events, if the call id comes back
        self.now = now
        self.agent_uri = agent_uri
        self.vars: dict[str, str] = {}
        self.attempts: Counter[str] = Counter()
        self.trace: list[str] = []
        self.self_served = False
        self.call: Call | None = None

    # -- events through the CTI services ----------------------------------------------
    def _event(self, kind: str, suffix: str = "", **extra: Any) -> EventResult:
        event = EventIn.model_validate(
            {
                "event_id": f"{self.call_id}-{self.key}-{kind}{suffix}",
                "type": kind,
                "call_id": self.call_id,
                "from": self.caller,
                "to": self.called,
                "at": self.now(),
                **extra,
            }
        )
        return call_event_handle(pbx=ivr_pbx(), event=event)

    def _save_trace(self) -> None:
        if self.call is not None:
            Call.objects.filter(pk=self.call.pk).update(ivr_trace=self.trace[-100:])

    # -- the run ------------------------------------------------------------------------
    def run(self) -> Result:
        result = self._event("ring", queue="ivr")
        self.call = result.call
        if result.reply.get("action") == "reject":
            self.driver.hangup()
            return Result("rejected", call=self.call)
        busy_lines = (
            Call.objects.live()
            .filter(pbx=self.call.pbx, extension="")
            .exclude(line="")
            .exclude(pk=self.call.pk)
            .count()
        )
        Call.objects.filter(pk=self.call.pk).update(line=self.line, queue="ivr")
        self.call.refresh_from_db()
        full = busy_lines >= int(settings.TELEPHONY_IVR_LINES)
        if full and settings.TELEPHONY_LINES_FULL == "busy":
            self.trace.append("lines_full:busy")
            self._save_trace()
            self.driver.hangup()
            self._event("hangup", cause="busy")
            self.call.refresh_from_db()
            return Result("busy", call=self.call)
        try:
            self.driver.answer()
            recording = self.driver.record(self.call_id)
            Call.objects.filter(pk=self.call.pk).update(recording_ref=recording)
            if full:  # "wait": straight to the agents' queue, without the IVR
                self.trace.append("lines_full:queue")
                self.graph = {**self.graph, "start": self._general_queue()}
            elif self._line_down():  # a fault: straight to the agents' queue
                self.trace.append("line_down:queue")
                self.graph = {**self.graph, "start": self._general_queue()}
            outcome = self._walk()
        except CallerGone:
            self.trace.append("caller_gone")
            outcome = Result("caller_gone")
        outcome.call = self.call
        self._save_trace()
        if outcome.ending != "transferred":
            if outcome.ending != "caller_gone":
                self.driver.hangup()
            cause = "cancel" if outcome.ending == "caller_gone" else "normal"
            self._event("hangup", cause=cause)
        self.call.refresh_from_db()
        return outcome

    def _line_down(self) -> bool:
        from qingquan.telephony import health

        if not self.driver.healthy():
            health.line_health_report(line=self.line, up=False, detail="driver: media down")
            return True
        return health.line_is_down(self.line)

    def _general_queue(self) -> str:
        nodes = self.graph["nodes"]
        if "q_general" in nodes:
            return "q_general"
        queues = [k for k, n in nodes.items() if n.get("type") == "queue"]
        return queues[0] if queues else str(self.graph["start"])

    def _walk(self) -> Result:
        nodes: dict[str, Any] = self.graph["nodes"]
        node_id: str | None = self.graph["start"]
        steps = 0
        while node_id:
            steps += 1
            if steps > MAX_STEPS or node_id not in nodes:
                fallback = self._general_queue()
                if fallback == node_id or steps > MAX_STEPS + 1:
                    return Result("hangup")
                node_id = fallback
            self.trace.append(node_id)
            node = nodes[node_id]
            handler = getattr(self, f"_node_{node['type']}")
            step = handler(node_id, node)
            if isinstance(step, Result):
                return step
            node_id = step
        return Result("hangup")

    # -- node types -----------------------------------------------------------------------
    def _retry_or(self, node_id: str, node: dict[str, Any], fail: str) -> str:
        self.attempts[node_id] += 1
        if self.attempts[node_id] >= int(node.get("retries", 3)):
            self.trace.append(f"{node_id}:fail")
            return fail
        self.driver.play(say("invalid"))
        return node_id

    def _node_play(self, node_id: str, node: dict[str, Any]) -> str:
        self.driver.play(say(node["prompt"]))
        return str(node["next"])

    def _node_menu(self, node_id: str, node: dict[str, Any]) -> str:
        self.driver.play(say(node["prompt"]))
        key = self.driver.collect(max_digits=1, timeout=float(node.get("timeout", 6)))
        options: dict[str, str] = node["options"]
        if key in options:
            self.attempts[node_id] = 0
            return options[key]
        return self._retry_or(node_id, node, node["fail"])

    def _node_collect(self, node_id: str, node: dict[str, Any]) -> str:
        self.driver.play(say(node["prompt"]))
        maximum = int(node.get("max", 20))
        digits = self.driver.collect(max_digits=maximum, timeout=float(node.get("timeout", 10)))
        if len(digits) >= int(node.get("min", 1)) and digits.isdigit():
            self.vars[node["var"]] = digits
            return str(node["next"])
        return self._retry_or(node_id, node, node["fail"])

    def _node_bill(self, node_id: str, node: dict[str, Any]) -> str:
        number = self.vars.get(node["var"], "")
        info = bill_lookup(number) if number else None
        if info is None:
            self.attempts[node_id] += 1
            self.driver.play(say("account_unknown"))
            if self.attempts[node_id] >= int(node.get("retries", 3)):
                self.trace.append(f"{node_id}:fail")
                return str(node["fail"])
            return str(node["retry"])
        account = speech.digits_reading(info.account)
        if info.amount > 0:
            due = speech.date_reading(info.due) if info.due else ""
            self.driver.play(
                say(
                    "bill_amount",
                    account=account,
                    amount=speech.amount_reading(info.amount),
                    due=due,
                )
            )
        else:
            self.driver.play(say("bill_none", account=account))
        self.self_served = True
        self.trace.append(f"{node_id}:ok")
        return str(node["next"])

    def _node_notice(self, node_id: str, node: dict[str, Any]) -> str:
        account = self.vars.get(str(node.get("var", "account")), "")
        message = notices_port.active_notice_message(phone=self.caller, account=account)
        if message:
            self.driver.play(Speech(key="notice", text=message, dynamic=True))
            self.trace.append(f"{node_id}:played")
        return str(node["next"])

    def _node_hours(self, node_id: str, node: dict[str, Any]) -> str:
        open_now = is_open(self.now(), node.get("from", "08:00"), node.get("to", "18:00"))
        return str(node["open"] if open_now else node["closed"])

    def _node_queue(self, node_id: str, node: dict[str, Any]) -> str | Result:
        assert self.call is not None
        skill = str(node["skill"])
        Call.objects.filter(pk=self.call.pk).update(queue=skill)
        self.call.queue = skill
        position = queue_position(self.call)
        self.driver.play(say("queue_position", ahead=speech.integer_reading(position - 1)))
        max_wait = float(node.get("max_wait", settings.TELEPHONY_QUEUE_MAX_WAIT))
        step = float(node.get("poll", 2))
        per_caller = float(settings.TELEPHONY_EXPECTED_SECONDS_PER_CALLER)
        offer_after = float(node.get("offer_after", settings.TELEPHONY_CALLBACK_OFFER_SECONDS))
        waited = 0.0
        offered = False
        failed: set[int] = set()
        while True:
            agent = self._offer(skill, failed)
            if agent is not None:
                self.trace.append(f"{node_id}:agent:{agent.extension}")
                self._save_trace()
                with holding(self.call.pk):  # the caller is still on this line
                    transferred = self.driver.transfer(self.agent_uri(agent))
                if transferred:
                    return Result("transferred", agent=agent)
                failed.add(agent.pk)
                Call.objects.filter(pk=self.call.pk).update(extension="")
            expected = position * per_caller - waited
            callback = node.get("callback")
            if callback and not offered and (expected > offer_after or waited >= offer_after):
                offered = True
                self.driver.play(say("offer_callback"))
                if self.driver.collect(max_digits=1, timeout=5) == "1":
                    self.vars["skill"] = skill
                    return str(callback)
            if waited >= max_wait:
                self.trace.append(f"{node_id}:overflow")
                return str(node["overflow"])
            self.driver.wait(step)
            waited += step

    def _offer(self, skill: str, failed: set[int]) -> Any:
        """Pick the longest-idle agent and offer them this call (the ring with their
        extension) in one step, so two lines never offer one agent two calls at once: a
        lock among this process's lines, the agent's state row locked across processes."""
        with _OFFER_LOCK, transaction.atomic():
            agent = pick_agent(skill, exclude=failed)
            if agent is None:
                return None
            AgentState.objects.select_for_update().filter(user=agent).first()
            offered = Call.objects.filter(state=CallState.RINGING, extension=agent.extension)
            if offered.exists():
                return None  # another process offered them a call meanwhile
            self._event("ring", suffix=f"-offer{len(failed)}", extension=agent.extension)
            return agent

    def _node_callback(self, node_id: str, node: dict[str, Any]) -> Result:
        assert self.call is not None
        callback_request(call=self.call, skill=self.vars.get("skill", ""))
        self.self_served = True
        self.trace.append(f"{node_id}:requested")
        number = speech.digits_reading(self.caller)
        self.driver.play(say(str(node.get("prompt", "callback_done")), number=number))
        return Result("callback")

    def _node_transfer(self, node_id: str, node: dict[str, Any]) -> Result | str:
        if self.driver.transfer(str(node["target"])):
            return Result("transferred")
        return str(node.get("fail", "")) or Result("hangup")

    def _node_hangup(self, node_id: str, node: dict[str, Any]) -> Result:
        if node.get("prompt"):
            self.driver.play(say(str(node["prompt"])))
        return Result("self_service" if self.self_served else "hangup")
