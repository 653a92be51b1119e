"""The tickets API's input and output schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import StringConstraints

from qingquan.core import validation as vd
from qingquan.tickets.models import Channel

# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class KindOut(Schema):
    code: str
    name: str
    parent: str | None
    default_priority: str
    policy: str
    clock_kind: str
    resolution_seconds: int


class TicketOut(Schema):
    id: int
    number: str
    kind: str
    kind_name: str
    channel: str
    priority: str
    subject: str
    description: str
    caller_name: str
    caller_phone: str
    address: str
    state: str
    state_label: str
    owner: str
    owner_name: str
    department: str | None
    team: str | None
    assignee: str | None
    parent: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution_deadline: dt.datetime | None
    resolution_deadline_text: str = Field(
        description="For open cases, the deadline in words in the request's language, "
        "with its date and time: '截止 2026-12-05 17:30，剩余 2 天 3 小时' or 'due 2026-12-05 "
        "17:30, 8 h 29 min overdue' (wall-clock time to the deadline; the case's counted "
        "time is in `clock` of one case). Empty when there is no deadline or the case is "
        "resolved."
    )
    warn_at: dt.datetime | None
    sla_state: str
    paused: bool
    breached_at: dt.datetime | None
    on_time: bool | None
    calendar_gap: bool
    calendar_gap_years: list[int]
    escalation_level: int
    reopen_count: int
    version: int
    allowed_actions: list[str]


class EventOut(Schema):
    at: dt.datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    note: str
    visibility: str


class PauseOut(Schema):
    reason: str
    note: str
    started_at: dt.datetime
    ended_at: dt.datetime | None


class ExtensionOut(Schema):
    id: int
    seconds: int
    reason: str
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None


class ClockOut(Schema):
    deadline: dt.datetime | None
    warn_at: dt.datetime | None
    state: str
    paused: bool
    elapsed_seconds: float = Field(description="Counted time so far, in seconds.")
    remaining_seconds: float = Field(
        description="Counted time left, in seconds (negative once overdue)."
    )
    remaining_text: str = Field(
        description="The time left (or overdue) in words, in the request's language: "
        "'剩余 1 个工作日 3 小时', '1 working day 3 h left', '已超时 8 小时 29 分'."
    )
    elapsed_text: str = Field(description="The counted time in words: '已计时 2 个工作日 1 小时'.")
    deadline_text: str = Field(
        description="The deadline's local date and time, 'YYYY-MM-DD HH:MM'."
    )
    fraction_used: float
    provisional: bool
    calendar_gap_years: list[int]


class TicketDetailOut(TicketOut):
    events: list[EventOut]
    pauses: list[PauseOut]
    extensions: list[ExtensionOut]
    children: list[str]
    clock: ClockOut | None


class TicketPage(Schema):
    count: int
    items: list[TicketOut]


class ErrorOut(Schema):
    detail: str
    current: TicketOut | None = None


class TicketIn(Schema):
    kind: str = Field(description="Case kind code, e.g. repair-burst", max_length=40)
    channel: str = Field(description=f"One of {', '.join(Channel.values)}", max_length=20)
    subject: vd.Subject
    description: vd.Note = ""
    caller_name: vd.Name = ""
    caller_phone: vd.Phone = ""
    address: vd.Address = ""
    district: str | None = Field(None, description="District code", max_length=20)
    priority: str = Field("", max_length=10)
    customer_id: int | None = None
    account_id: int | None = None
    premise_id: int | None = None
    contact_id: int | None = Field(None, description="The contact that opened the case")


Word = Annotated[str, StringConstraints(max_length=150), vd.LINE]  # codes and usernames in queries


class VersionIn(Schema):
    version: int = Field(description="The case version you read (optimistic locking)")


class NoteIn(VersionIn):
    note: vd.Note = ""


class ReasonIn(VersionIn):
    reason: vd.Note


class HandOffIn(VersionIn):
    department: str | None = Field(None, description="Department code")
    team: str | None = Field(None, description="Team or crew code")
    note: vd.Note = ""


class ResolveIn(VersionIn):
    resolution: vd.Note


class PauseIn(VersionIn):
    reason: str = Field(
        description="customer, budget_review, contract, payment, force_majeure", max_length=20
    )
    note: Annotated[str, StringConstraints(max_length=200), vd.FREE] = ""


class ExtensionIn(VersionIn):
    seconds: int = Field(description="Extra budget in seconds of the case's clock", ge=1, le=10**9)
    reason: vd.Note


class DecideIn(VersionIn):
    extension_id: int
    approve: bool
    note: vd.Note = ""


class CallbackIn(VersionIn):
    outcome: str = Field(
        description="satisfied, fairly_satisfied, dissatisfied, unreachable", max_length=20
    )
    note: vd.Note = ""


class OwnerIn(VersionIn):
    owner: str = Field(description="Username of the new owner", max_length=150)
    reason: vd.Note


class MergeIn(VersionIn):
    parent: str = Field(description="Number of the incident case to merge into", max_length=16)
    note: vd.Note = ""


class ContactIn(Schema):
    channel: str = Field(max_length=20)
    from_address: Annotated[str, StringConstraints(max_length=120), vd.LINE] = ""
    started_at: vd.Datetime | None = None
    ended_at: vd.Datetime | None = None
    recording_ref: Annotated[str, StringConstraints(max_length=200), vd.LINE] = ""
    customer_id: int | None = None
    note: vd.Note = ""
    tickets: list[str] = Field(default_factory=list, description="Case numbers it touched")


class ContactBase(Schema):
    """What every API shows of a contact (the telephony API adds the call's outcome)."""

    id: int
    channel: str
    from_address: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_seconds: int | None
    agent: str | None
    tickets: list[str]


class ContactOut(ContactBase):
    recording_ref: str


class FigureOut(Schema):
    key: str | None
    label: str
    numerator: int
    denominator: int
    rate: float | None


class KpisOut(Schema):
    start: dt.datetime
    end: dt.datetime
    by: str | None
    closure_rate: list[FigureOut]
    on_time_rate: list[FigureOut]


ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
