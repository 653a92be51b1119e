"""The known personal data the exposure check seeds and looks for, and its seeding."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from qingquan.core.actors import system
from qingquan.staff.roles import Role

ANONYMOUS = "anonymous"
ROLES: list[str] = [ANONYMOUS, *[r.value for r in Role]]


@dataclass(frozen=True)
class Known:
    """The personal data seeded, each in the forms a page might print it."""

    name: str = "欧阳秘辛"
    phone: str = "13912345678"
    caller_phone: str = "13787654321"
    email: str = "ouyang.mixin@example.org"
    id_number: str = "330203199001011236"
    account: str = "3309990001"
    latitude: str = "29.87654"
    submitter: str = "申报人甲"
    submitter_phone: str = "13655554444"
    submitter_email: str = "shenbao.jia@example.net"

    def forms(self) -> dict[str, dict[str, list[str]]]:
        """kind → {"full": strings, "masked": strings}: `shown`'s full and masked forms."""
        from qingquan.customers.privacy import Kind, mask

        def phone(n: str) -> list[str]:
            return [n, f"+86{n}", f"{n[:3]} {n[3:7]} {n[7:]}", f"{n[:3]}-{n[3:7]}-{n[7:]}"]

        phones = [self.phone, self.caller_phone, self.submitter_phone]
        emails = [self.email, self.submitter_email]
        names = [self.name, self.submitter]
        return {
            Kind.PHONE: {
                "full": [f for n in phones for f in phone(n)],
                "masked": [mask(n, Kind.PHONE) for n in phones],
            },
            Kind.EMAIL: {"full": emails, "masked": [mask(e, Kind.EMAIL) for e in emails]},
            Kind.ID_NUMBER: {
                "full": [self.id_number],
                "masked": [mask(self.id_number, Kind.ID_NUMBER)],
            },
            Kind.NAME: {"full": names, "masked": [mask(n, Kind.NAME) for n in names]},
        }

    def public_forbidden(self) -> list[str]:
        """What no anonymous answer may contain (any form): personal data, the account
        number, and the premise's exact location when the submitter gave none."""
        values = [self.account, self.latitude]
        for forms in self.forms().values():
            values += forms["full"] + forms["masked"]
        return values


KNOWN = Known()


# Seeding -------------------------------------------------------------------------------
@dataclass
class Seeded:
    """The records the URL parameters are taken from."""

    users: dict[str, Any]
    objects: dict[str, Any] = field(default_factory=dict)


def seed(known: Known = KNOWN) -> Seeded:
    """Staff of every role and one of each record holding `known`'s personal data.

    Long because it is one script of seed records in the order they depend on each other
    (staff, registry, cases, calls, partner and Open311 cases, callbacks…), each a few
    lines through its service; split, the records would only be passed between pieces."""
    from qingquan.areas.models import District
    from qingquan.areas.services import areas_seed_ningbo
    from qingquan.core import clock
    from qingquan.customers import services as customer_services
    from qingquan.customers.tariffs import tariffs_seed
    from qingquan.partners import services as partner_services
    from qingquan.partners.models import PartnerCase
    from qingquan.staff import services as staff_services
    from qingquan.staff.models import Department
    from qingquan.staff.roles import DepartmentKind
    from qingquan.telephony.demo import seed_telephony
    from qingquan.telephony.models import Call, CallState, Direction
    from qingquan.tickets import services as ticket_services
    from qingquan.tickets.models import CaseKind, Channel

    hotline, _ = Department.objects.get_or_create(
        code="matrix-hotline", defaults={"name": "矩阵热线", "kind": DepartmentKind.HOTLINE}
    )
    users: dict[str, Any] = {
        role.value: staff_services.staff_create(
            actor=system("access_matrix"),
            username=f"matrix-{role.value}",
            full_name=f"矩阵{role.label}",
            role=role,
            password=None,
            department=hotline,
            extension=f"9{i:03d}",
            validate=False,
        )
        for i, role in enumerate(Role)
    }
    users[ANONYMOUS] = None
    if not District.objects.exists():
        areas_seed_ningbo()
    district = District.objects.order_by("code").first()
    customer = customer_services.customer_create(
        actor=system("access_matrix"),
        name=known.name,
        id_number=known.id_number,
        phone_numbers=[known.phone],
    )
    premise = customer_services.premise_create(
        actor=system("access_matrix"),
        district=district,
        road="矩阵路1号",
        building="1",
        unit="1",
        room="101",
        latitude=float(known.latitude),
        longitude=121.54321,
    )
    opened = clock.today() - dt.timedelta(days=120)
    account = customer_services.account_create(
        actor=system("access_matrix"),
        number=known.account,
        customer=customer,
        premise=premise,
        tariff=tariffs_seed()["residential"],
        household_size=3,
        opened_on=opened,
    )
    meter = customer_services.meter_create(
        actor=system("access_matrix"), account=account, serial="MATRIX-0001", installed_on=opened
    )
    end = opened + dt.timedelta(days=59)
    customer_services.reading_record(
        actor=system("access_matrix"), meter=meter, read_on=end, value=Decimal("20")
    )
    bill = customer_services.bill_issue(
        actor=system("access_matrix"), account=account, period_start=opened, period_end=end
    )
    customer_services.payment_record(
        actor=system("access_matrix"),
        bill=bill,
        amount=bill.total,
        channel="wechat",
        reference="MATRIX",
    )
    invoice = customer_services.invoice_issue(actor=system("access_matrix"), bill=bill)
    paper = customer_services.paper_invoice_request(
        actor=system("access_matrix"),
        invoice=invoice,
        recipient=known.name,
        phone=known.phone,
        address="矩阵路1号",
    )
    agent = users[Role.AGENT]
    kind = CaseKind.objects.filter(is_active=True, parent__isnull=False).order_by("code").first()
    assert kind is not None, "case kinds are seeded by a migration"
    now = clock.now()
    contact = ticket_services.contact_record(
        actor=agent,
        channel=Channel.PHONE,
        from_address=known.caller_phone,
        started_at=now - dt.timedelta(minutes=5),
        agent=agent,
        customer=customer,
    )
    ticket = ticket_services.ticket_create(
        actor=agent,
        kind=kind,
        channel=Channel.PHONE,
        subject="矩阵工单",
        description="",
        caller_name=known.name,
        caller_phone=known.caller_phone,
        customer=customer,
        account=account,
        premise=premise,
        contact=contact,
    )
    ticket_services.contact_link(actor=agent, contact=contact, ticket=ticket)
    call = Call.objects.create(
        pbx=seed_telephony(),
        call_id="MATRIX-CALL-1",
        direction=Direction.INBOUND,
        from_number=known.phone,
        state=CallState.ANSWERED,
        agent=agent,
        extension=agent.extension,
        rang_at=now - dt.timedelta(minutes=6),
        answered_at=now - dt.timedelta(minutes=5),
        contact=contact,
    )
    client, _key = partner_services.partner_client_create(
        actor=system("access_matrix"),
        code="matrix",
        name="矩阵接入",
        channel="provincial",
        scopes=["open311", "cases:read", "cases:write"],
        intake_owner=agent,
    )
    open311, _created = partner_services.partner_case_create(
        client=client,
        kind=kind,
        subject="矩阵公开请求",
        description="路面积水",
        caller_name=known.submitter,
        caller_phone=known.submitter_phone,
        account_number=known.account,
        source=PartnerCase.Source.OPEN311,
        address_id="MATRIX-A1",
        public_description="路面积水",
        submitter_email=known.submitter_email,
        attributes={"account_number": known.account},
    )
    from qingquan.knowledge.demo import seed_knowledge
    from qingquan.knowledge.models import Article
    from qingquan.knowledge.services import article_propose
    from qingquan.surveys import services as survey_services

    manager = users[Role.CUSTOMER_MANAGER]
    organisation = customer_services.customer_create(
        actor=system("access_matrix"),
        kind="organisation",
        name="矩阵单位",
        uscc="91330200144068643J",
    )
    survey_services.manager_assign(
        actor=system("access_matrix"), manager=manager, customer=organisation, since=clock.today()
    )
    survey_services.schedule_manager_calls(now=now)
    seed_knowledge()
    article = Article.objects.order_by("pk").first()
    if article is not None:
        article_propose(
            actor=agent,
            article=article,
            title=article.title,
            topic=article.topic,
            body="矩阵修订：请先关闭总阀再联系热线。",
        )
    from qingquan.messaging.inbound import Arrived, inbound_receive

    inbound, _new = inbound_receive(
        message=Arrived(
            channel="sms", provider_id="MATRIX-SMS-1", sender=known.caller_phone, text="水还是黄的"
        )
    )
    from qingquan.portal.assist import assist_book, slots
    from qingquan.portal.models import Resident

    day, slot = slots()[0]
    appointment = assist_book(
        resident=Resident.objects.create(phone=f"+86{known.phone}", created_at=now),
        kind="visit",
        day=day,
        slot=slot,
        address="矩阵路1号",
    )
    objects: dict[str, Any] = {
        "messaging.inbound": inbound,
        "portal.appointment": appointment,
        "customers.customer": customer,
        "customers.customerphone": customer.phones.first(),
        "customers.premise": premise,
        "customers.account": account,
        "customers.meter": meter,
        "customers.bill": bill,
        "customers.invoice": invoice,
        "customers.paperinvoicerequest": paper,
        "tickets.ticket": ticket,
        "tickets.contact": contact,
        "telephony.call": call,
        "partners.partnerclient": client,
        "partners.partnercase": open311,
        "open311": open311,
    }
    return Seeded(users=users, objects=objects)
