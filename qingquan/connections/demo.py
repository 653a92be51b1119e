"""Demo applications in every step: just applied, accepted and surveyed, waiting on the
applicant's contract, paid and being connected, a "431" with external works, water on
with the manager's call due, and two real-estate projects (one past construction entry
with milestones reached, one waiting for its ready date) (never in production:
`core.demo`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum.cn import ric, uscc

from qingquan.connections import services
from qingquan.connections.models import Application, FeeItem, Quote
from qingquan.core import clock
from qingquan.core.actors import system

DEMO = system("demo")
PDF = b"%PDF-1.4\n% demo document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

APPLICANTS = [
    ("宁波甬江茶饮有限公司", "business", 25, "5", False, "海曙区药行街18号", 1),
    ("宁波三江口餐饮有限公司", "business", 32, "12", False, "江北区人民路201号", 2),
    ("宁波东钱湖民宿管理有限公司", "business", 25, "8", False, "鄞州区东钱湖镇环湖东路5号", 3),
    ("宁波北仑港机械制造有限公司", "industrial", 100, "180", True, "北仑区新碶街道明州路88号", 4),
    ("宁波天一阁文创有限公司", "business", 20, "3", False, "海曙区天一街10号", 5),
    ("陈建国", "residential", 20, "0.5", False, "奉化区岳林街道南山路66号", 1),
]


def _code(n: int) -> str:
    body = f"91330200MA2{n:06d}"
    return body + uscc.calc_check_digit(body)


def _id(n: int) -> str:
    # Haishu's code (330203) dates from 1983: an earlier birth date there is no valid ID.
    # stdnum's calc_check_digit expects the number with a check-digit placeholder.
    body = f"33020319850101{n:03d}"
    return body + ric.calc_check_digit(body + "X")


def _people() -> tuple[list[Any], Any]:
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    managers = list(User.objects.filter(role=Role.CUSTOMER_MANAGER, is_active=True).order_by("pk"))
    engineer = User.objects.filter(role=Role.BACK_OFFICE, is_active=True).order_by("pk").first()
    return managers, engineer


def seed_connections() -> int:
    """The demo's applications (returns how many); nothing when staff are missing."""
    managers, engineer = _people()
    if not managers or engineer is None or Application.objects.exists():
        return 0
    now = clock.now()
    made = 0
    for n, (name, use, dn, m3, external, address, stage) in enumerate(APPLICANTS, start=1):
        person = use == "residential"
        app = services.application_create(
            actor=DEMO,
            data=services.ApplicationInput(
                applicant_kind="person" if person else "enterprise",
                applicant_name=name,
                phone=f"1390000{n:04d}",
                document_kind="id_card" if person else "licence",
                document_number=_id(n) if person else _code(n),
                documents=[SimpleUploadedFile("document.pdf", PDF)],
                use=use,
                m3_per_day=Decimal(m3),
                pipe_mm=dn,
                address=f"宁波市{address}",
                external_works=external,
                channel=("portal", "counter", "phone", "counter", "portal", "counter")[n - 1],
            ),
            manager=managers[n % len(managers)],
            at=now - dt.timedelta(hours=3 + 20 * stage),
        )
        _advance(app, stage, engineer)
        made += 1
    return made + _real_estate(managers, engineer, now)


PROJECTS = [
    # (developer, project, households, address, days since the application, ready, milestones)
    ("宁波甬江置业有限公司", "甬江悦府", 480, "鄞州区首南街道天童南路900号", 3, True, 2),
    ("宁波三江房地产开发有限公司", "三江花园二期", 260, "江北区庄桥街道康庄南路66号", 1, False, 0),
]


def _real_estate(managers: list[Any], engineer: Any, now: dt.datetime) -> int:
    """Real-estate projects (R-CON-6): one past construction entry with its first
    milestones reached, one waiting for the developer's documented ready date."""
    for n, (name, project, households, address, days, ready, done) in enumerate(PROJECTS, 20):
        applied = now - dt.timedelta(days=days)
        app = services.application_create(
            actor=DEMO,
            data=services.ApplicationInput(
                applicant_kind="enterprise",
                applicant_name=name,
                phone=f"1390000{n:04d}",
                document_kind="licence",
                document_number=_code(n),
                documents=[SimpleUploadedFile("document.pdf", PDF)],
                use="real_estate",
                m3_per_day=Decimal("400"),
                pipe_mm=200,
                address=f"宁波市{address}",
                channel="counter",
                project=services.ProjectInput(
                    name=project,
                    households=households,
                    ready_on=applied.date() if ready else None,
                    ready_evidence="场地移交单及现场照片" if ready else "",
                ),
            ),
            manager=managers[n % len(managers)],
            at=applied,
        )
        if ready:
            _milestones(app, engineer, done)
    return len(PROJECTS)


def _milestones(app: Application, engineer: Any, done: int) -> None:
    """Accepted, designed, construction entered, then `done` milestones reached."""
    app = services.step_complete(actor=DEMO, application=app, engineer=engineer)
    notes = [
        "图纸会审通过",
        "施工队进场",
        "管网敷设完成，隐蔽工程验收记录 YS-0012",
        "试压 1.0 MPa 合格，冲洗消毒完成",
    ]
    for note in notes[: 2 + done]:
        app.refresh_from_db()
        app = services.step_complete(actor=DEMO, application=app, note=note)


def _advance(app: Application, stage: int, engineer: Any) -> None:
    """Take the application to `stage`: 1 applied, 2 quoted (contract awaited), 3 paid,
    4 in the "431" survey, 5 water on."""
    if stage == 1:
        return
    app = services.step_complete(actor=DEMO, application=app, engineer=engineer)
    if stage == 4:
        return
    items = [
        (FeeItem.objects.get(code="meter-dn20"), 1),
        (FeeItem.objects.get(code="pipe-dn25"), 8),
    ]
    services.quote_issue(actor=DEMO, application=app, lines=items)
    if stage == 2:
        return
    quote = services.contract_acknowledge(actor=DEMO, application=app, signer="王经理")
    _pay(quote)
    if stage == 5:
        app.refresh_from_db()
        services.step_complete(actor=DEMO, application=app, note="表号 NB2026-0001，已开栓通水")


def _pay(quote: Quote) -> None:
    from qingquan.payments.providers import SandboxProvider
    from qingquan.payments.services import notify_handle

    order = quote.order
    assert order is not None
    headers, body = SandboxProvider(order.provider).notify_for(order)
    notify_handle(provider_name=order.provider, headers=headers, body=body)
