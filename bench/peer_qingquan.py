"""Prepares one Qingquan database for the intake benchmark (run as a child process with
DATABASE_URL / QINGQUAN_DATA_DIR set): migrates, creates the bench's partner client (the
provincial platform, with the partner API and Open311 scopes and a limit no bench reaches)
and a fresh API key, and one case created by the service whose rows the physical-limit
script copies. Prints one JSON line: the key, the kind code and the template rows' ids.
"""

from __future__ import annotations

import json
import os
import sys

from qingquan.core.actors import system

CLIENT_CODE = "bench-peer"
MARKER = "@@PEER-SETUP@@"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    from bench.bench_tickets import TEMPLATE_SUBJECT, _create_template, _setup
    from qingquan.core.models import AuditEvent
    from qingquan.partners import services
    from qingquan.partners.models import PartnerClient, Scope
    from qingquan.reports.models import MEASURES
    from qingquan.tickets.models import Ticket, TicketEvent

    agents, kind = _setup()
    client = PartnerClient.objects.filter(code=CLIENT_CODE).first()
    if client is None:
        client, key = services.partner_client_create(
            actor=system("bench"),
            code=CLIENT_CODE,
            name="基准省平台",
            channel="provincial",
            scopes=[Scope.CASES_WRITE.value, Scope.CASES_READ.value, Scope.OPEN311.value],
            intake_owner=agents[0],
            rate_limit_per_minute=100_000_000,
        )
    else:
        _record, key = services.api_key_issue(actor=system("bench"), client=client, label="bench")
    if not Ticket.objects.filter(subject=TEMPLATE_SUBJECT).exists():
        _create_template(agents[0], kind)
    ticket = Ticket.objects.filter(subject=TEMPLATE_SUBJECT).latest("id")
    contact = ticket.contacts.get()
    template = {
        "ticket": ticket.pk,
        "contact": contact.pk,
        "event": TicketEvent.objects.filter(ticket=ticket).get().pk,
        "ticket_audit": AuditEvent.objects.filter(action="ticket.create", object_id=str(ticket.pk))
        .get()
        .pk,
        "contact_audit": AuditEvent.objects.filter(
            action="contact.record", object_id=str(contact.pk)
        )
        .get()
        .pk,
        "kind_code": ticket.kind.top.code,
        "agent": agents[0].pk,
        "measures": list(MEASURES),
    }
    print(MARKER + json.dumps({"key": key, "kind": kind.code, "template": template}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
