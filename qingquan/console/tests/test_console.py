"""Screen pop, fast intake, case search, notes and attachments, wallboard and access."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qingquan.console import selectors, services
from qingquan.console.models import Attachment, CaseNote
from qingquan.console.tests.conftest import answer_call
from qingquan.tickets.models import CaseKind, Contact, Ticket, TicketState

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    return client


@pytest.fixture
def on_line(make_user: Any) -> Any:
    return make_user("agent", extension="8101")


@pytest.mark.django_db
def test_screen_pop_of_a_known_caller(pbx: Any, on_line: Any, known_caller: Any) -> None:
    call = answer_call(pbx, on_line, "135 6666 7777")
    Contact.objects.create(
        channel="phone", from_address="13566667777", started_at=call.rang_at, customer=known_caller
    )
    pop = selectors.screen_pop(user=on_line, call=call)
    assert [c.name for c in pop.customers] == ["周美华"]
    assert pop.customers[0].accounts[0].bills and pop.customers[0].balance > 0
    assert pop.contacts_7d == 1 and pop.repeat_caller
    html = client_for(on_line).get(f"/console/calls/{call.pk}/", HTTP_HX_REQUEST="true")
    text = html.content.decode()
    assert html.status_code == 200
    assert "周美华" in text and "3302888001" in text
    assert "135****7777" in text and "13566667777" not in text
    assert "No interruption notices." in text
    assert "Elderly or mobility-impaired" in text and "Repeat caller" in text
    assert 'data-testid="intake"' in text


@pytest.mark.django_db
def test_screen_pop_of_an_unknown_caller_offers_search_and_quick_creation(
    pbx: Any, on_line: Any
) -> None:
    earlier = services.intake_submit(
        actor=on_line,
        intake=services.Intake(
            kind=CaseKind.objects.get(code="consultation"),
            subject="询问营业厅地址",
            caller_phone="13911112222",
        ),
    )
    call = answer_call(pbx, on_line, "13911112222")
    client = client_for(on_line)
    text = client.get(f"/console/calls/{call.pk}/").content.decode()
    assert "Unknown number" in text and 'data-testid="quick-customer"' in text
    assert "Earlier cases from this number" in text and earlier.number in text
    response = client.post("/console/customers/new/", {"call": call.pk, "name": ""})
    assert response.status_code == 302  # back to the pop with the message
    response = client.post("/console/customers/new/", {"call": call.pk, "name": "陈先生"})
    assert response.status_code == 302
    pop = selectors.screen_pop(user=on_line, call=call)
    assert [c.name for c in pop.customers] == ["陈先生"]


@pytest.mark.django_db
def test_repair_from_a_call_needs_the_location_and_is_linked_to_the_contact(
    pbx: Any, on_line: Any, known_caller: Any
) -> None:
    call = answer_call(pbx, on_line, "13566667777")
    account = known_caller.accounts.get()
    client = client_for(on_line)
    form = {
        "call": call.pk,
        "customer": known_caller.pk,
        "kind": "repair",
        "subkind": "repair-leak",
        "account": account.pk,
        "description": "水表井里一直冒水",
    }
    response = client.post("/console/intake/", form)
    assert response.status_code == 400
    assert "Say where the problem is" in response.content.decode()
    assert Ticket.objects.count() == 0
    response = client.post("/console/intake/", {**form, "location": "3幢楼下水表井"})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{ticket.number}/"
    assert ticket.kind.code == "repair-leak" and ticket.owner == on_line
    assert ticket.premise == account.premise and ticket.customer == known_caller
    assert "3幢楼下水表井" in ticket.subject and ticket.caller_phone == "+8613566667777"
    call.refresh_from_db()
    assert list(call.contact.tickets.all()) == [ticket]


@pytest.mark.django_db
def test_bill_enquiry_is_resolved_on_the_call_in_one_step(
    pbx: Any, on_line: Any, known_caller: Any
) -> None:
    call = answer_call(pbx, on_line, "13566667777")
    kind = CaseKind.objects.get(code="bill")
    ticket = services.intake_submit(
        actor=on_line,
        intake=services.Intake(
            kind=kind,
            customer=known_caller,
            resolve_now=True,
            resolution="已告知1月水费及阶梯用量",
            description="询问1月水费",
            call=call,
        ),
    )
    assert ticket.state == TicketState.RESOLVED and ticket.on_time is True
    assert ticket.contacts.get() == call.contact
    with pytest.raises(services.ConsoleError):  # a repair is never "resolved on the call"
        services.intake_submit(
            actor=on_line,
            intake=services.Intake(
                kind=CaseKind.objects.get(code="repair"),
                location="x",
                resolve_now=True,
                resolution="y",
            ),
        )


@pytest.mark.django_db
def test_complaint_needs_its_subject(on_line: Any) -> None:
    kind = CaseKind.objects.get(code="complaint")
    with pytest.raises(services.ConsoleError) as error:
        services.intake_submit(actor=on_line, intake=services.Intake(kind=kind))
    assert error.value.field == "subject"


@pytest.mark.django_db
def test_search_by_number_phone_account_address_and_chinese_words(
    on_line: Any, known_caller: Any, make_user: Any
) -> None:
    account = known_caller.accounts.get()
    repair = CaseKind.objects.get(code="repair-leak")
    ticket = services.intake_submit(
        actor=on_line,
        intake=services.Intake(
            kind=repair,
            account=account,
            location="小区东门",
            description="自来水管道漏水，路面有积水",
            caller_phone="13566667777",
        ),
    )
    other = make_user("agent")
    for text in (ticket.number, "13566667777", "3302888001", "药行街", "漏水 积水", "路面积水"[:2]):
        found = list(selectors.case_search(user=other, text=text))
        assert found == [ticket], text
    assert list(selectors.case_search(user=other, text="停水 积水")) == []
    response = client_for(other).get("/console/cases/", {"q": "漏水"})
    assert ticket.number in response.content.decode()


@pytest.mark.django_db
def test_case_search_starts_with_this_weeks_open_cases(
    on_line: Any, make_user: Any, time_machine: Any
) -> None:
    """Before anything is typed: the open cases received since Monday, newest first."""
    import datetime as dt

    from qingquan.core.clock import SHANGHAI

    kind = CaseKind.objects.get(code="repair-leak")
    time_machine.move_to(dt.datetime(2026, 3, 6, 10, tzinfo=SHANGHAI))  # a Friday
    old = services.intake_submit(
        actor=on_line, intake=services.Intake(kind=kind, location="上周", description="上周漏水")
    )
    time_machine.move_to(dt.datetime(2026, 3, 10, 10, tzinfo=SHANGHAI))  # the next Tuesday
    new = services.intake_submit(
        actor=on_line, intake=services.Intake(kind=kind, location="本周", description="本周漏水")
    )
    supervisor = make_user("supervisor")
    assert list(selectors.recent_open(supervisor)) == [new]
    page = client_for(supervisor).get("/console/cases/").content.decode()
    assert new.number in page and old.number not in page
    assert "Open cases received this week" in page


@pytest.mark.django_db
def test_notes_and_attachments(on_line: Any) -> None:
    kind = CaseKind.objects.get(code="consultation")
    ticket = services.intake_submit(
        actor=on_line, intake=services.Intake(kind=kind, subject="水质咨询")
    )
    client = client_for(on_line)
    client.post(
        f"/console/cases/{ticket.number}/notes/",
        {"body": "内部：已联系水质科", "visibility": "internal"},
    )
    client.post(
        f"/console/cases/{ticket.number}/notes/", {"body": "已答复用户", "visibility": "customer"}
    )
    assert [n.visibility for n in CaseNote.objects.all()] == ["internal", "customer"]

    good = SimpleUploadedFile("现场.png", PNG, content_type="image/png")
    response = client.post(f"/console/cases/{ticket.number}/files/", {"file": good})
    assert response.status_code == 302
    item = Attachment.objects.get()
    assert item.kind == "photo" and item.size == len(PNG)
    download = client.get(f"/console/files/{item.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG  # type: ignore[attr-defined]

    fake = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post(f"/console/cases/{ticket.number}/files/", {"file": fake})
    assert response.status_code == 400 and "does not match" in response.content.decode()
    exe = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    assert client.post(f"/console/cases/{ticket.number}/files/", {"file": exe}).status_code == 400
    big = io.BytesIO(b"%PDF-" + b"0" * (services.MAX_ATTACHMENT_BYTES + 1))
    big.name = "big.pdf"
    assert client.post(f"/console/cases/{ticket.number}/files/", {"file": big}).status_code == 400
    assert Attachment.objects.count() == 1


@pytest.mark.django_db
def test_wallboard_shows_agents_waiting_calls_and_rates(
    pbx: Any, on_line: Any, supervisor: Any
) -> None:
    from qingquan.telephony import services as telephony

    telephony.call_event_handle(
        pbx=pbx,
        event=telephony.parse_event(
            {"event_id": "w1", "type": "ring", "call_id": "w", "from": "13700001111"}
        ),
    )
    answer_call(pbx, on_line, "13566667777")
    board = selectors.wallboard(user=supervisor)
    assert len(board.waiting) == 1
    assert board.counts["on_call"] == 1
    assert [r.user for r in board.agents if r.status == "on_call"] == [on_line]
    assert board.calls["answered"] == 1
    response = client_for(supervisor).get("/console/wallboard/", HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert 'data-testid="waiting">1<' in text and 'data-testid="count-on_call">1<' in text


@pytest.mark.django_db
def test_access(agent: Any, supervisor: Any, make_user: Any) -> None:
    crew = make_user("crew")
    assert client_for(crew).get("/console/").status_code == 403
    assert client_for(agent).get("/console/").status_code == 200
    assert client_for(agent).get("/console/wallboard/").status_code == 403
    assert client_for(supervisor).get("/console/wallboard/").status_code == 200
    assert client_for(agent).get("/console/calls/999/").status_code == 404


@pytest.mark.django_db
def test_intake_from_a_withheld_number_opens_the_case_and_a_typed_bad_number_is_refused(
    pbx: Any, on_line: Any
) -> None:
    """The phone system's number becomes the case's caller number only when it is one; a
    number the agent typed meets the input rules (core.validation)."""
    call = answer_call(pbx, on_line, "anonymous")
    client = client_for(on_line)
    form = {"call": call.pk, "kind": "consultation", "subject": "水价咨询"}
    response = client.post("/console/intake/", {**form, "caller_phone": "13800138000<b>"})
    assert response.status_code == 400 and "caller_phone" in response.content.decode()
    assert Ticket.objects.count() == 0
    response = client.post("/console/intake/", form)
    assert response.status_code == 302
    assert Ticket.objects.get().caller_phone == ""


@pytest.mark.django_db
def test_the_intake_form_of_a_pop_finds_every_value_it_asks_for(
    pbx: Any, on_line: Any, known_caller: Any, monkeypatch: Any
) -> None:
    """An empty intake form answers "" for each field: a missing key made the template
    engine raise and catch an error for every field, and for every case kind in the kind
    lists (some forty per pop, on the path every answered call takes)."""
    import django.template.base as template_base

    call = answer_call(pbx, on_line, "135 6666 7777")
    missing: list[str] = []
    real = template_base.VariableDoesNotExist.__init__

    def noting(self: Any, msg: str, params: tuple[Any, ...] = ()) -> None:
        missing.append(str(params[0]) if params else msg)
        real(self, msg, params)

    monkeypatch.setattr(template_base.VariableDoesNotExist, "__init__", noting)
    response = client_for(on_line).get(f"/console/calls/{call.pk}/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and 'data-testid="intake"' in response.content.decode()
    fields = {"kind", "subkind", "account", "location", "subject", "description", "address"}
    assert not fields & set(missing), missing
