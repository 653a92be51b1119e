"""Assisted services of the elder-friendly mode (适老化, R-INTAKE-6): a resident books in
one tap a call back, a home visit or a pick-up to a service hall, for one of the next
working half-days; it is a case (opened like every portal case) with an appointment an
agent confirms. The confirmation goes on the case as a note the customer sees and by SMS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.core.calendar import is_working_day_or_weekday
from qingquan.messaging.services import Outgoing, messages_queue
from qingquan.portal.models import Appointment, AppointmentStatus, AssistKind, Resident, Slot
from qingquan.portal.services import ACTOR, PortalError, Report, case_open
from qingquan.staff.access import check

DAYS_OFFERED = 3  # working days offered (fewer choices per screen)
KIND_CODES = ("consult-assist", "consultation", "other")
SLOT_WORDS = {Slot.MORNING: "上午", Slot.AFTERNOON: "下午"}
KIND_WORDS = {
    AssistKind.CALLBACK: "电话回访",
    AssistKind.VISIT: "上门服务",
    AssistKind.PICKUP: "接送到营业厅",
}


def slots(now: dt.datetime | None = None) -> list[tuple[dt.date, str]]:
    """The half-days a resident may choose: the next working days from tomorrow."""
    day = (now or clock.now()).astimezone(clock.SHANGHAI).date()
    found: list[tuple[dt.date, str]] = []
    for _n in range(30):
        day += dt.timedelta(days=1)
        if is_working_day_or_weekday(day):
            found += [(day, Slot.MORNING), (day, Slot.AFTERNOON)]
        if len(found) >= DAYS_OFFERED * 2:
            break
    return found


def _kind() -> Any:
    from qingquan.tickets.models import CaseKind

    kinds = {k.code: k for k in CaseKind.objects.filter(code__in=KIND_CODES, is_active=True)}
    for code in KIND_CODES:
        if code in kinds:
            return kinds[code]
    raise PortalError(_("The online hall cannot take cases just now. Please call 96390."))


def assist_book(
    *,
    resident: Resident,
    kind: str,
    day: dt.date,
    slot: str,
    account: Any = None,
    address: str = "",
) -> Appointment:
    """Book an assisted service as a case with an appointment. Tapping again while one of
    the same service waits for confirmation gives that one back (no second case)."""
    if kind not in AssistKind.values:
        raise PortalError(_("Choose a service."))
    if (day, slot) not in slots():
        raise PortalError(_("Choose one of the times offered."))
    waiting = Appointment.objects.filter(
        resident=resident, kind=kind, status=AppointmentStatus.REQUESTED
    ).first()
    if waiting is not None:
        return waiting
    label = str(AssistKind(kind).label)
    when = f"{day:%Y-%m-%d} {Slot(slot).label}"
    with transaction.atomic():
        ticket = case_open(
            resident=resident,
            report=Report(
                kind=_kind(),
                subject=f"{KIND_WORDS[AssistKind(kind)]} {day:%m-%d}{SLOT_WORDS[Slot(slot)]}",
                description=_("Booked in the elder-friendly mode: %(service)s, %(when)s.")
                % {"service": label, "when": when},
                address=address,
                account=account,
                needs_place=kind != AssistKind.CALLBACK,
            ),
        )
        appointment = Appointment.objects.create(
            ticket=ticket,
            resident=resident,
            kind=kind,
            date=day,
            slot=slot,
            address=ticket.address,
            created_at=clock.now(),
        )
        audit_record(
            actor=ACTOR,
            action="portal.assist.book",
            obj=appointment,
            after={"ticket": ticket.number, "kind": kind, "date": day, "slot": slot},
        )
    return appointment


@transaction.atomic
def assist_confirm(
    *,
    actor: Any,
    appointment: Appointment,
    version: int | None,
    day: dt.date | None = None,
    slot: str = "",
) -> Appointment:
    """An agent confirms the appointment (another date or half-day if agreed with the
    customer): noted on the case for the customer, and an SMS to them."""
    from qingquan.console.models import Visibility
    from qingquan.console.services import note_add

    check(actor, "console.use")
    locked = Appointment.objects.select_for_update().select_related("ticket").get(pk=appointment.pk)
    if version is not None and locked.version != version:
        raise PortalError(_("This appointment was changed by someone else. Reload it."))
    if locked.status != AppointmentStatus.REQUESTED:
        raise PortalError(_("This appointment is not waiting for confirmation."))
    if slot and slot not in Slot.values:
        raise PortalError(_("Choose a time."))
    if day is not None and day < clock.now().astimezone(clock.SHANGHAI).date():
        raise PortalError(_("The date has passed."))
    before = {"date": locked.date, "slot": locked.slot}
    locked.date = day or locked.date
    locked.slot = slot or locked.slot
    locked.status = AppointmentStatus.CONFIRMED
    locked.confirmed_at = clock.now()
    locked.confirmed_by = actor
    locked.version += 1
    locked.save()
    words = (
        f"{KIND_WORDS[AssistKind(locked.kind)]} "
        f"{locked.date.month}月{locked.date.day}日{SLOT_WORDS[Slot(locked.slot)]}"
    )
    note_add(
        actor=actor,
        ticket=locked.ticket,
        body=_("Appointment confirmed: %(what)s.") % {"what": words},
        visibility=Visibility.CUSTOMER,
    )
    messages_queue(
        source="portal.assist",
        source_id=locked.pk,
        urgent=False,
        messages=[
            Outgoing(
                channel="sms",
                to=locked.resident.phone,
                template="assist_confirmed",
                body=(
                    f"您预约的{words}已确认（工单 {locked.ticket.number}）。如需改约请致电 96390。"
                ),
                params={"what": words, "number": locked.ticket.number},
            )
        ],
    )
    audit_record(
        actor=actor,
        action="portal.assist.confirm",
        obj=locked,
        before=before,
        after={"date": locked.date, "slot": locked.slot},
    )
    return locked
