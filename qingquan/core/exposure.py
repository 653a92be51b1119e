"""Who sees which personal data where: every URL pattern of the project, requested as every
role and as an anonymous visitor, with known personal data seeded, each answer classified
(full / masked / none / forbidden / login / …).

Used by the privacy tests (tests/test_exposure.py: no full number, e-mail address, ID
number or name reaches a role without the right; anonymous answers hold no personal data)
and by `manage.py access_matrix`, which writes the table in docs/access-matrix.md. Like
core.demo, this module reaches into the domain apps (to seed what it looks for).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

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
    """Staff of every role and one of each record holding `known`'s personal data."""
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
    objects: dict[str, Any] = {
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


# URL patterns --------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    route: str  # the pattern as written, e.g. "customers/<int:customer_id>/"
    name: str  # "namespace:name" (or "" when unnamed)
    params: tuple[str, ...]


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def patterns() -> list[Pattern]:
    """Every URL pattern of the project, once per route (an API path answering GET and
    POST is one row)."""
    seen: dict[str, Pattern] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Pattern]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                params = tuple(a or b for a, b in _PARAM.findall(route))
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                yield Pattern(route=route, name=name or "", params=params)

    for pattern in walk(get_resolver(), "", ""):
        seen.setdefault(pattern.route, pattern)
    return list(seen.values())


class Unresolved(Exception):
    """A URL parameter this module does not know how to fill (a new pattern)."""


class NoRecord(Exception):
    """The parameter's kind of record does not exist in the database (nothing to show)."""


def _admin_model(route: str) -> Any:
    from django.apps import apps

    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    try:
        return apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return None


def _first(model: Any, seeded: Seeded) -> Any:
    obj = seeded.objects.get(model._meta.label_lower)
    return obj if obj is not None else model.objects.order_by("pk").first()


def _value(pattern: Pattern, param: str, seeded: Seeded) -> str:
    from qingquan.console.models import Attachment
    from qingquan.knowledge.models import Article
    from qingquan.surveys.models import CallbackTask

    o = seeded.objects
    simple: dict[str, Callable[[], Any]] = {
        "customer_id": lambda: o["customers.customer"].pk,
        "invoice_id": lambda: o["customers.invoice"].pk,
        "bill_id": lambda: o["customers.bill"].pk,
        "number": lambda: (
            o["customers.account"].number
            if "accounts" in pattern.route
            else o["tickets.ticket"].number
        ),
        "account_number": lambda: o["customers.account"].number,
        "call_id": lambda: o["telephony.call"].pk,
        "contact_id": lambda: o["tickets.contact"].pk,
        "fmt": lambda: "json",
        "code": lambda: o["tickets.ticket"].kind.code,
        "request_id": lambda: o["open311"].ticket.number,
        "token_id": lambda: o["open311"].token,
        "app_label": lambda: "customers",
        "url": lambda: "customers/customer/",
        "content_type_id": lambda: _content_type(o["customers.customer"]),
        "task_id": lambda: _pk(CallbackTask.objects.order_by("pk").first()),
        "token": lambda: _survey_token(),
        "article_id": lambda: _pk(Article.objects.order_by("pk").first()),
        "proposal_id": lambda: _pk(_first_revision()),
        "key": lambda: f"intake:contact:{o['tickets.contact'].pk}",  # a console draft
        "run_id": lambda: _pk(_hydraulic_run()),
    }
    if param == "object_id":
        model = _admin_model(pattern.route)
        if model is None:  # the admin's "view on site" shortcut
            return str(o["customers.customer"].pk)
        return str(_pk(_first(model, seeded)))
    if param == "pk":
        by_prefix = {
            "console/files/": lambda: _pk(Attachment.objects.order_by("pk").first()),
            "knowledge/review/": lambda: _pk(_first_revision()),
            "knowledge/": lambda: _pk(Article.objects.order_by("pk").first()),
            "callbacks/": lambda: _pk(CallbackTask.objects.order_by("pk").first()),
        }
        for prefix, get in by_prefix.items():
            if pattern.route.startswith(prefix):
                return str(get())
        raise Unresolved(f"{pattern.route}: pk")
    if param not in simple:
        raise Unresolved(f"{pattern.route}: {param}")
    return str(simple[param]())


def _hydraulic_run() -> Any:
    from qingquan.network.models import HydraulicRun

    return HydraulicRun.objects.exclude(pipe="").order_by("pk").first()


def _pk(obj: Any) -> Any:
    if obj is None:
        raise NoRecord()
    return obj.pk


def _content_type(obj: Any) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


def _first_revision() -> Any:
    from qingquan.knowledge.models import ArticleRevision as Revision

    return Revision.objects.order_by("pk").first()


def _survey_token() -> str:
    from qingquan.surveys.models import CallbackTask
    from qingquan.surveys.services import survey_token

    task = CallbackTask.objects.order_by("pk").first()
    if task is None:
        raise NoRecord()
    return str(survey_token(task))


def url_of(pattern: Pattern, seeded: Seeded) -> str:
    """A concrete URL for `pattern`, parameters filled from seeded (or existing) records."""
    route = pattern.route
    for param in pattern.params:
        value = _value(pattern, param, seeded)
        route = re.sub(
            r"<(?:\w+:)?" + param + r">|\(\?P<" + param + r">[^)]*\)", value, route, count=1
        )
    route = route.replace("^", "").replace("$", "").replace("\\.", ".")
    return "/" + route


# Requesting and classifying --------------------------------------------------------------
FULL, MASKED, NONE = "full", "masked", "none"


@dataclass
class Result:
    """One pattern as one role: the answer, and per kind what it showed."""

    status: int
    outcome: str  # "ok", "forbidden", "login", "redirect", "not found", "not allowed", …
    kinds: dict[str, str] = field(default_factory=dict)  # kind → FULL / MASKED / NONE
    leaked: list[str] = field(default_factory=list)  # anonymous: personal strings found
    script_problems: list[str] = field(default_factory=list)  # see `script_problems`

    @property
    def cell(self) -> str:
        if self.outcome != "ok":
            return self.outcome
        shown = {k: v for k, v in self.kinds.items() if v != NONE}
        if not shown:
            return "—"
        return ", ".join(f"{k} {v}" for k, v in sorted(shown.items()))


def text_of(response: Any) -> str:
    """The text of an answer: HTML/JSON/XML as is, PDFs through pdftotext, Excel's XML."""
    body = b"".join(response) if getattr(response, "streaming", False) else response.content
    kind = response.get("Content-Type", "")
    if body.startswith(b"%PDF"):
        return _pdf_text(body)
    if "spreadsheet" in kind or body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(n).decode("utf-8", "replace")
                for n in archive.namelist()
                if n.endswith(".xml")
            )
    text = body.decode("utf-8", "replace")
    if "json" in kind:
        # JSON may escape non-ASCII (\u6b27…): read it back so names are found too.
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


def _pdf_text(body: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        raise RuntimeError("pdftotext (poppler-utils) is needed to read PDF answers")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answer.pdf"
        path.write_bytes(body)
        done = subprocess.run([tool, str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8", "replace")


def classify(text: str, known: Known = KNOWN) -> dict[str, str]:
    result = {}
    for kind, forms in known.forms().items():
        if any(f in text for f in forms["full"]):
            result[kind] = FULL
        elif any(f in text for f in forms["masked"]):
            result[kind] = MASKED
        else:
            result[kind] = NONE
    return result


def _outcome(response: Any) -> str:
    status = response.status_code
    if status == 200:
        return "ok"
    if status in (301, 302, 303, 307, 308):
        location = response.get("Location", "")
        return "login" if "/login/" in location or "admin/login" in location else "redirect"
    return {
        401: "login",
        403: "forbidden",
        404: "not found",
        405: "GET not allowed",
        400: "bad request",
        410: "gone",
        422: "bad request",
    }.get(status, str(status))


def request_all(
    seeded: Seeded, known: Known = KNOWN, roles: list[str] | None = None
) -> tuple[dict[tuple[str, str], Result], list[str]]:
    """GET every pattern as every role: {(route, role): Result}, and the routes whose
    parameters could not be filled."""
    results: dict[tuple[str, str], Result] = {}
    unresolved: list[str] = []
    clients: dict[str, Client] = {}
    for role in roles or ROLES:
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="zh-hans")
        user = seeded.users.get(role)
        if user is not None:
            client.force_login(user)
        clients[role] = client
    forbidden_public = known.public_forbidden()
    for pattern in patterns():
        try:
            url = url_of(pattern, seeded)
        except Unresolved:
            unresolved.append(pattern.route)
            continue
        except NoRecord:
            for role in clients:
                results[(pattern.route, role)] = Result(status=0, outcome="no record")
            continue
        for role, client in clients.items():
            response = client.get(url)
            outcome = _outcome(response)
            result = Result(status=response.status_code, outcome=outcome)
            if response.status_code < 500:
                text = text_of(response)
                if outcome == "ok":
                    result.kinds = classify(text, known)
                if role == ANONYMOUS:
                    result.leaked = [v for v in forbidden_public if v in text]
                result.script_problems = script_problems(response, text)
            results[(pattern.route, role)] = result
    return results, unresolved


_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def script_problems(response: Any, text: str) -> list[str]:
    """What in an HTML answer the Content-Security-Policy would block or fail to cover:
    a missing policy or one allowing inline scripts, inline `<script>` elements (JSON data
    blocks are fine), `on…=` handler attributes and `javascript:` links."""
    if "text/html" not in response.get("Content-Type", ""):
        return []
    problems = []
    policy = response.get("Content-Security-Policy", "")
    script_src = next((d for d in policy.split(";") if d.strip().startswith("script-src")), "")
    if "'self'" not in script_src or "unsafe" in script_src:
        problems.append(f"policy: {policy or 'none'}")
    for tag in _SCRIPT_TAG.findall(text):
        if "src=" not in tag and "application/json" not in tag:
            problems.append(f"inline script: {tag[:80]}")
    for tag in _TAG.findall(text):
        if _INLINE_HANDLER.search(tag) or "javascript:" in tag.lower():
            problems.append(f"inline handler: {tag[:80]}")
    return problems


def violations(results: dict[tuple[str, str], Result], seeded: Seeded) -> list[str]:
    """Each full value shown to a role without the right, and each personal string in an
    anonymous answer."""
    from qingquan.customers.privacy import may_see

    found = []
    for (route, role), result in results.items():
        if role == ANONYMOUS:
            if result.leaked:
                found.append(f"{route} anonymous: {result.leaked}")
            continue
        user = seeded.users[role]
        for kind, seen in result.kinds.items():
            if seen == FULL and not may_see(user, kind):
                found.append(f"{route} {role}: full {kind}")
    return found


def markdown(results: dict[tuple[str, str], Result], unresolved: list[str]) -> str:
    """The role × URL table for docs/access-matrix.md."""
    routes = list(dict.fromkeys(route for route, _role in results))
    lines = [
        "# Access matrix: who sees which personal data where",
        "",
        "Generated by `.venv/bin/qingquan manage access_matrix` (do not edit by hand).",
        "Every URL pattern of the project was requested (GET) as an anonymous visitor and",
        "as each role, with a customer, a case, a call, an invoice and an Open311 request",
        "seeded with known personal data. A cell names each kind of personal data the",
        "answer showed and how: `full` or `masked` (phone, email, id_number, name); `—`",
        "means it showed none. Otherwise the answer was `login` (sent to log in),",
        "`forbidden` (403), `not found` (404), `GET not allowed` (405: a POST-only",
        "address), `bad request`, `redirect`, or `no record` (no record of the kind the",
        "address names exists). Full phone numbers, e-mail addresses and ID numbers reach",
        "only roles holding `customers.view_phone_full` (names: `customers.view`), and",
        "each showing is logged (admin: personal data disclosures). The test",
        "`qingquan/core/tests/test_exposure.py` fails on any other outcome.",
        "",
        "| URL pattern | " + " | ".join(ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
    ]
    for route in routes:
        cells = [results[(route, role)].cell for role in ROLES if (route, role) in results]
        lines.append(f"| `{route}` | " + " | ".join(cells) + " |")
    if unresolved:
        lines += ["", "Patterns not requested (no record to fill their parameters):", ""]
        lines += [f"- `{route}`" for route in unresolved]
    return "\n".join(lines) + "\n"
