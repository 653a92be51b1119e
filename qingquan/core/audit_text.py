"""The audit log in sentences: "邱艳 将工单 20261201-0011 派至 海曙抢修班".

Every action code the services record has a sentence here (tests/test_audit_text.py
finds the codes in the source and fails on one without). A sentence names the actor,
the record (its kind and name) and, for hand-offs, where it went; the raw before/after
values stay available on demand. Core imports no domain app: records named by id in an
event (a department, a team, a user, a case) are looked up through the app registry.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.core import actors
from qingquan.core.models import AuditEvent

# action code -> sentence; %(actor)s, %(object)s ("工单 20261201-0011") and %(target)s.
SENTENCES: dict[str, Any] = {
    # Cases
    "ticket.create": gettext_lazy("%(actor)s opened %(object)s"),
    "ticket.dispatch": gettext_lazy("%(actor)s dispatched %(object)s to %(target)s"),
    "ticket.transfer": gettext_lazy("%(actor)s transferred %(object)s to %(target)s"),
    "ticket.accept": gettext_lazy("%(actor)s accepted %(object)s"),
    "ticket.arrive": gettext_lazy("%(actor)s recorded the crew on site for %(object)s"),
    "ticket.resolve": gettext_lazy("%(actor)s resolved %(object)s"),
    "ticket.return": gettext_lazy("%(actor)s returned %(object)s to the hotline"),
    "ticket.callback": gettext_lazy("%(actor)s recorded the callback of %(object)s"),
    "ticket.close": gettext_lazy("%(actor)s closed %(object)s"),
    "ticket.reopen": gettext_lazy("%(actor)s reopened %(object)s"),
    "ticket.pause": gettext_lazy("%(actor)s paused the clock of %(object)s"),
    "ticket.resume": gettext_lazy("%(actor)s resumed the clock of %(object)s"),
    "ticket.extension_request": gettext_lazy("%(actor)s asked for more time on %(object)s"),
    "ticket.extension_approve": gettext_lazy("%(actor)s approved more time for %(object)s"),
    "ticket.extension_refuse": gettext_lazy("%(actor)s refused more time for %(object)s"),
    "ticket.escalate": gettext_lazy("%(actor)s escalated %(object)s"),
    "ticket.remind": gettext_lazy("%(actor)s sent a reminder about %(object)s"),
    "ticket.change_owner": gettext_lazy("%(actor)s made %(target)s the owner of %(object)s"),
    "ticket.merge": gettext_lazy("%(actor)s merged %(object)s into case %(target)s"),
    "contact.record": gettext_lazy("%(actor)s recorded %(object)s"),
    "contact.end": gettext_lazy("%(actor)s ended %(object)s"),
    "contact.link": gettext_lazy("%(actor)s linked %(object)s to a case"),
    # Console
    "console.intake": gettext_lazy("%(actor)s took in %(object)s at the console"),
    "console.note": gettext_lazy("%(actor)s added a note to %(object)s"),
    "console.attachment": gettext_lazy("%(actor)s attached a file to %(object)s"),
    # Callbacks
    "callback.create": gettext_lazy("%(actor)s scheduled %(object)s"),
    "callback.attempt": gettext_lazy("%(actor)s tried %(object)s (nobody reached)"),
    "callback.complete": gettext_lazy("%(actor)s completed %(object)s"),
    "callback.manager_assign": gettext_lazy("%(actor)s assigned a customer manager: %(object)s"),
    # Customers and billing
    "customers.customer.create": gettext_lazy("%(actor)s registered %(object)s"),
    "customers.customer.update": gettext_lazy("%(actor)s changed %(object)s"),
    "customers.customer.import": gettext_lazy("%(actor)s imported customers (first: %(object)s)"),
    "customers.phone.add": gettext_lazy("%(actor)s added a phone number to %(object)s"),
    "customers.phone.remove": gettext_lazy("%(actor)s removed a phone number of %(object)s"),
    "customers.premise.create": gettext_lazy("%(actor)s added %(object)s"),
    "customers.premise.update": gettext_lazy("%(actor)s changed %(object)s"),
    "customers.premise.import": gettext_lazy("%(actor)s imported premises (first: %(object)s)"),
    "customers.account.create": gettext_lazy("%(actor)s opened %(object)s"),
    "customers.account.update": gettext_lazy("%(actor)s changed %(object)s"),
    "customers.account.import": gettext_lazy("%(actor)s imported accounts (first: %(object)s)"),
    "customers.meter.create": gettext_lazy("%(actor)s installed %(object)s"),
    "customers.meter.remove": gettext_lazy("%(actor)s removed %(object)s"),
    "customers.meter.import": gettext_lazy("%(actor)s imported meters (first: %(object)s)"),
    "customers.meterreading.import": gettext_lazy(
        "%(actor)s imported meter readings (first: %(object)s)"
    ),
    "customers.reading.record": gettext_lazy("%(actor)s recorded %(object)s"),
    "customers.reading.flag": gettext_lazy("%(actor)s recorded %(object)s, flagged for checking"),
    "customers.reading.confirm": gettext_lazy("%(actor)s confirmed %(object)s"),
    "customers.bill.issue": gettext_lazy("%(actor)s issued %(object)s"),
    "customers.bill.cancel": gettext_lazy("%(actor)s cancelled %(object)s"),
    "customers.payment.record": gettext_lazy("%(actor)s recorded %(object)s"),
    "customers.payment.reverse": gettext_lazy("%(actor)s reversed %(object)s"),
    "customers.invoice.issue": gettext_lazy("%(actor)s issued an e-invoice for %(object)s"),
    "customers.paper_invoice.request": gettext_lazy(
        "%(actor)s requested a paper invoice: %(object)s"
    ),
    "customers.paper_invoice.advance": gettext_lazy("%(actor)s moved on %(object)s"),
    "customers.generate": gettext_lazy("%(actor)s generated demo customers (%(object)s)"),
    # Knowledge
    "knowledge.propose": gettext_lazy("%(actor)s proposed a revision of %(object)s"),
    "knowledge.publish": gettext_lazy("%(actor)s published %(object)s"),
    "knowledge.reject": gettext_lazy("%(actor)s rejected %(object)s"),
    "knowledge.link": gettext_lazy("%(actor)s linked %(object)s to a case"),
    "knowledge.synonyms_save": gettext_lazy("%(actor)s saved the synonym group %(object)s"),
    "knowledge.synonyms_delete": gettext_lazy("%(actor)s deleted the synonym group %(object)s"),
    # Partners
    "partners.client_create": gettext_lazy("%(actor)s registered %(object)s"),
    "partners.client_update": gettext_lazy("%(actor)s changed %(object)s"),
    "partners.key_issue": gettext_lazy("%(actor)s issued an API key for %(object)s"),
    "partners.key_revoke": gettext_lazy("%(actor)s revoked an API key of %(object)s"),
    "partners.subscription_save": gettext_lazy("%(actor)s saved %(object)s"),
    "partners.delivery_retry": gettext_lazy("%(actor)s retried %(object)s"),
    "partners.case_create": gettext_lazy("%(actor)s opened %(object)s through a partner system"),
    "partners.case_note": gettext_lazy("%(actor)s added a partner's note to %(object)s"),
    # Interruption notices and outbound messages
    "notices.create": gettext_lazy("%(actor)s drafted %(object)s"),
    "notices.edit": gettext_lazy("%(actor)s changed the draft %(object)s"),
    "notices.submit": gettext_lazy("%(actor)s submitted %(object)s for approval"),
    "notices.reject": gettext_lazy("%(actor)s sent %(object)s back for changes"),
    "notices.publish": gettext_lazy("%(actor)s approved and published %(object)s"),
    "notices.update": gettext_lazy("%(actor)s published an update of %(object)s"),
    "notices.restore": gettext_lazy("%(actor)s recorded the supply restored for %(object)s"),
    "notices.close": gettext_lazy("%(actor)s closed %(object)s"),
    "notices.call": gettext_lazy("%(actor)s told a caller about %(object)s"),
    "notices.subscribe": gettext_lazy("%(actor)s created %(object)s"),
    "notices.unsubscribe": gettext_lazy("%(actor)s deleted %(object)s"),
    "messaging.optout": gettext_lazy("%(actor)s recorded that %(object)s unsubscribed"),
    "messaging.optin": gettext_lazy("%(actor)s subscribed %(object)s again"),
    "messaging.inbound": gettext_lazy("%(actor)s recorded a message from the public: %(object)s"),
    "portal.counter.open": gettext_lazy("%(actor)s took a case at the counter: %(object)s"),
    "portal.assist.book": gettext_lazy("%(actor)s booked an assisted service: %(object)s"),
    "portal.assist.confirm": gettext_lazy("%(actor)s confirmed the assisted service %(object)s"),
    "messaging.answer": gettext_lazy("%(actor)s answered the message %(object)s"),
    # Online hall, payments, IVR and recordings
    "payments.order.paid": gettext_lazy("%(actor)s recorded the payment of %(object)s"),
    "payments.order.create": gettext_lazy("%(actor)s opened payment order %(object)s"),
    "customers.payment.refund": gettext_lazy("%(actor)s recorded a refund of %(object)s"),
    "payments.refund.request": gettext_lazy("%(actor)s asked for refund %(object)s"),
    "payments.refund.approve": gettext_lazy("%(actor)s approved refund %(object)s"),
    "payments.refund.reject": gettext_lazy("%(actor)s rejected refund %(object)s"),
    "payments.refund.done": gettext_lazy("%(actor)s recorded that refund %(object)s was paid"),
    "payments.refund.failed": gettext_lazy("%(actor)s recorded that refund %(object)s failed"),
    "payments.reconcile": gettext_lazy("%(actor)s reconciled the payments of %(object)s"),
    "payments.paper.request": gettext_lazy(
        "%(actor)s asked for paper invoices by courier: %(object)s"
    ),
    "payments.paper.advance": gettext_lazy("%(actor)s moved on paper invoice parcel %(object)s"),
    "portal.bind": gettext_lazy("%(actor)s linked %(object)s to an online-hall login"),
    "portal.unbind": gettext_lazy("%(actor)s removed %(object)s from an online-hall login"),
    "telephony.callback.request": gettext_lazy(
        "%(actor)s recorded the callback request %(object)s"
    ),
    "telephony.flow.save": gettext_lazy("%(actor)s saved a new version of %(object)s"),
    "telephony.prompt.text": gettext_lazy("%(actor)s changed the text of %(object)s"),
    "telephony.prompt.upload": gettext_lazy("%(actor)s uploaded a recording for %(object)s"),
    "telephony.recording.download": gettext_lazy(
        "%(actor)s downloaded the recording of %(object)s"
    ),
    "telephony.recording.listen": gettext_lazy("%(actor)s listened to the recording of %(object)s"),
    "telephony.recording.delete": gettext_lazy(
        "%(actor)s deleted the recording of %(object)s (retention period over)"
    ),
    "telephony.callback.take": gettext_lazy("%(actor)s took the callback request %(object)s"),
    "telephony.callback.dial": gettext_lazy("%(actor)s called back %(object)s"),
    "telephony.callback.finish": gettext_lazy(
        "%(actor)s recorded the outcome of the callback request %(object)s"
    ),
    "telephony.line.down": gettext_lazy("%(actor)s: IVR line %(object)s is down"),
    "telephony.line.up": gettext_lazy("%(actor)s: IVR line %(object)s is up again"),
    # Reports
    "report.send": gettext_lazy("%(actor)s sent %(object)s"),
    # Staff, roster, calendar, areas
    "staff.create": gettext_lazy("%(actor)s created %(object)s"),
    "staff.update": gettext_lazy("%(actor)s changed %(object)s"),
    "staff.password_change": gettext_lazy("%(actor)s changed the password of %(object)s"),
    "roster.assign": gettext_lazy("%(actor)s put %(object)s on the roster"),
    "roster.unassign": gettext_lazy("%(actor)s took %(object)s off the roster"),
    "calendar.seed": gettext_lazy("%(actor)s filled the working-day calendar"),
    "calendar.set_day": gettext_lazy("%(actor)s set %(object)s in the working-day calendar"),
    "areas.seed": gettext_lazy("%(actor)s loaded the districts, streets and communities"),
    # Telephony
    "telephony.agent_state": gettext_lazy("%(actor)s changed %(object)s"),
    "telephony.block": gettext_lazy("%(actor)s blocked %(object)s"),
    "telephony.unblock": gettext_lazy("%(actor)s unblocked %(object)s"),
    "telephony.pbx.create": gettext_lazy("%(actor)s connected %(object)s"),
    "telephony.call.ring": gettext_lazy("%(actor)s: %(object)s rang"),
    "telephony.call.answer": gettext_lazy("%(actor)s: %(object)s was answered"),
    "telephony.call.hangup": gettext_lazy("%(actor)s: %(object)s ended"),
    # Repair dispatch
    "dispatch.job.create": gettext_lazy("%(actor)s made %(object)s"),
    "dispatch.job.assign": gettext_lazy("%(actor)s sent a crew to %(object)s"),
    "dispatch.job.reassign": gettext_lazy("%(actor)s changed the crew of %(object)s"),
    "dispatch.job.pause": gettext_lazy("%(actor)s paused the restoration clock of %(object)s"),
    "dispatch.job.resume": gettext_lazy("%(actor)s resumed the restoration clock of %(object)s"),
    "dispatch.job.cancel": gettext_lazy("%(actor)s cancelled %(object)s"),
    "dispatch.step.accept": gettext_lazy("%(actor)s accepted %(object)s"),
    "dispatch.step.en_route": gettext_lazy("%(actor)s set off for %(object)s"),
    "dispatch.step.arrive": gettext_lazy("%(actor)s arrived on site of %(object)s"),
    "dispatch.step.valve": gettext_lazy("%(actor)s closed a valve for %(object)s"),
    "dispatch.step.repaired": gettext_lazy("%(actor)s repaired %(object)s"),
    "dispatch.step.restored": gettext_lazy("%(actor)s restored supply for %(object)s"),
    "dispatch.step.note": gettext_lazy("%(actor)s added a note to %(object)s"),
    "dispatch.step.photo": gettext_lazy("%(actor)s added a photo to %(object)s"),
    "dispatch.crew.status": gettext_lazy("%(actor)s changed the status of %(object)s"),
    # New connections (报装)
    "connections.apply": gettext_lazy("%(actor)s took connection application %(object)s"),
    "connections.step": gettext_lazy("%(actor)s finished a step of %(object)s"),
    "connections.water_on": gettext_lazy("%(actor)s turned the water on for %(object)s"),
    "connections.pause": gettext_lazy("%(actor)s paused the clock of %(object)s for the applicant"),
    "connections.resume": gettext_lazy("%(actor)s resumed the clock of %(object)s"),
    "connections.cancel": gettext_lazy("%(actor)s cancelled %(object)s"),
    "connections.call": gettext_lazy("%(actor)s made the customer manager's call on %(object)s"),
    "connections.manager": gettext_lazy("%(actor)s changed the customer manager of %(object)s"),
    "connections.quote": gettext_lazy("%(actor)s quoted the works fees of %(object)s"),
    "connections.contract": gettext_lazy("%(actor)s recorded the contract of %(object)s"),
    "connections.paid": gettext_lazy("%(actor)s recorded the works-fee payment of %(object)s"),
    "connections.fee_item": gettext_lazy("%(actor)s changed the works-fee item %(object)s"),
    "connections.ready": gettext_lazy("%(actor)s recorded the site ready date of %(object)s"),
    "connections.clock_end": gettext_lazy("%(actor)s stopped the utility's clock of %(object)s"),
}

# Records saved or deleted through the admin's reference screens: "<app>.<model>.<verb>".
GENERIC: dict[str, Any] = {
    "create": gettext_lazy("%(actor)s created %(object)s"),
    "update": gettext_lazy("%(actor)s changed %(object)s"),
    "delete": gettext_lazy("%(actor)s deleted %(object)s"),
}


def _label(app_model: str, pk: Any) -> str:
    """The name of a record named by id in an event (a department, a team, a person)."""
    if pk in (None, ""):
        return ""
    try:
        model = apps.get_model(app_model)
    except LookupError:
        return str(pk)
    record = model._default_manager.filter(pk=pk).first()
    if record is None:
        return str(pk)
    full_name = getattr(record, "get_full_name", None)
    if callable(full_name) and full_name():
        return str(full_name())
    return str(getattr(record, "number", "") or record)


def _target(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    code = event.action
    if code in ("ticket.dispatch", "ticket.transfer"):
        return _label("staff.Team", after.get("team")) or _label(
            "staff.Department", after.get("department")
        )
    if code == "ticket.change_owner":
        return _label("staff.User", after.get("owner"))
    if code == "ticket.merge":
        return _label("tickets.Ticket", after.get("parent"))
    return ""


def _object(event: AuditEvent) -> str:
    """ "工单 20261201-0011": the record's kind and name (a case by its number)."""
    try:
        model = apps.get_model(event.object_type)
    except (LookupError, ValueError):
        return event.object_repr
    name = event.object_repr
    if event.object_type == "tickets.ticket":
        name = name.split(" ", 1)[0]
    return f"{model._meta.verbose_name} {name}".strip()


def sentence_for(code: str) -> Any:
    """The sentence template of an action code, or None when it has none."""
    if code in SENTENCES:
        return SENTENCES[code]
    verb = code.rsplit(".", 1)[-1]
    if code.count(".") >= 2 and verb in GENERIC:  # <app>.<model>.<verb>
        return GENERIC[verb]
    return None


def describe(event: AuditEvent) -> str:
    """The event as a sentence in the active language."""
    actor = actors.describe(event.actor_kind, event.actor_ref, event.actor_label)
    template = sentence_for(event.action)
    values = {"actor": actor, "object": _object(event), "target": _target(event) or "—"}
    if template is None:  # a code added without a sentence: still readable
        return _("%(actor)s: %(action)s on %(object)s") % {**values, "action": event.action}
    return str(template) % values


def changes(event: AuditEvent) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each value the event changed, for the details view."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if old != new or not before:
            rows.append((key, old, new))
    return rows


def action_label(code: str) -> str:
    """A readable name of an action code for filters: "… dispatched … to …"."""
    template = sentence_for(code)
    if template is None:
        return code
    return str(template) % {"actor": "…", "object": "…", "target": "…"}
