"""The online service hall: login by SMS code, binding, bills, cases, subscriptions and
the separation from staff sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from qingquan.core import clock
from qingquan.core.tests.failures import failed_statements
from qingquan.portal import rules, services
from qingquan.portal.models import Binding, LoginCode, PortalSession, RepairPhoto, Resident
from qingquan.portal.services import PortalError
from qingquan.portal.tests.conftest import PHONE, last_code, portal_login

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


# Login ---------------------------------------------------------------------------------
def test_code_is_stored_hashed_and_logs_in_once() -> None:
    client = Client()
    client.post("/portal/login/", {"phone": PHONE, "action": "send"})
    code = last_code()
    row = LoginCode.objects.get()
    assert code not in row.code_hash and len(row.code_hash) == 64
    r = client.post("/portal/login/", {"phone": PHONE, "action": "verify", "code": code})
    assert r.status_code == 302
    key = r.cookies[rules.COOKIE]
    assert key["path"] == "/portal/" and key["httponly"]
    assert PortalSession.objects.get().key_hash != key.value
    assert (
        Client()
        .post("/portal/login/", {"phone": PHONE, "action": "verify", "code": code})
        .status_code
        == 200
    )  # used once
    assert Resident.objects.get().phone == "+8613911112222"


def test_wrong_code_counts_and_spends_the_code() -> None:
    services.code_request(phone=PHONE, ip="10.0.0.1")
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for left in range(rules.CODE_TRIES - 1, 0, -1):
        with pytest.raises(PortalError, match=f"{left}"):
            services.code_verify(phone=PHONE, code=wrong)
    with pytest.raises(PortalError):
        services.code_verify(phone=PHONE, code=wrong)
    with pytest.raises(PortalError, match="过期"):
        services.code_verify(phone=PHONE, code=code)


def test_code_expires_after_five_minutes() -> None:
    with time_machine.travel(clock.now(), tick=False) as traveller:
        services.code_request(phone=PHONE, ip=None)
        code = last_code()
        traveller.shift(dt.timedelta(minutes=5, seconds=1))
        with pytest.raises(PortalError, match="过期"):
            services.code_verify(phone=PHONE, code=code)


def test_limits_per_number_and_per_address_with_a_clear_message() -> None:
    with time_machine.travel(clock.now(), tick=False) as traveller:
        services.code_request(phone=PHONE, ip="10.0.0.9")
        with pytest.raises(PortalError, match="秒后"):
            services.code_request(phone=PHONE, ip="10.0.0.9")
        for _ in range(rules.CODE_PER_PHONE_HOUR - 1):
            traveller.shift(rules.CODE_GAP)
            services.code_request(phone=PHONE, ip="10.0.0.9")
        traveller.shift(rules.CODE_GAP)
        with pytest.raises(PortalError, match="该号码"):
            services.code_request(phone=PHONE, ip="10.0.0.9")
        for n in range(rules.CODE_PER_IP_HOUR - rules.CODE_PER_PHONE_HOUR):
            services.code_request(phone=f"1390000{n:04d}", ip="10.0.0.9")
        with pytest.raises(PortalError, match="该网络"):
            services.code_request(phone="13700001111", ip="10.0.0.9")
    # The page shows it in Chinese by default.
    r = Client().post("/portal/login/", {"phone": PHONE, "action": "send"}, REMOTE_ADDR="10.0.0.9")
    assert "次数过多" in r.content.decode() or "秒后" in r.content.decode()


def test_landline_is_refused() -> None:
    with pytest.raises(PortalError):
        services.code_request(phone="0574-87300000", ip=None)


def test_staff_and_portal_sessions_do_not_cross(
    client: Client, agent: Any, supervisor: Any
) -> None:
    client.force_login(agent)
    r = client.get("/portal/")
    assert r.status_code == 302 and r["Location"].startswith("/portal/login/")
    portal = portal_login(Client())
    r = portal.get("/cases/")
    assert r.status_code == 302 and "/login/" in r["Location"] and "/portal/" not in r["Location"]
    assert portal.get("/portal/").status_code == 200


def test_logout_ends_the_session(resident_client: Client) -> None:
    resident_client.post("/portal/logout/")
    assert resident_client.get("/portal/").status_code == 302
    assert PortalSession.objects.filter(ended_at__isnull=False).count() == 1


# Binding -------------------------------------------------------------------------------
def test_bind_by_name_or_id_digits_and_several_accounts(
    resident_client: Client, billed_account: Any
) -> None:
    from qingquan.customers.tests import factories as f

    r = resident_client.post("/portal/accounts/add/", {"number": "3302888001", "name": "周 美华"})
    assert r.status_code == 302
    other = f.account(
        f.customer(name="宁波甬江商贸有限公司", uscc="91330203MA2AB1234A", kind="organisation")
    )
    r = resident_client.post("/portal/accounts/add/", {"number": other.number, "id_digits": "234a"})
    assert r.status_code == 302
    assert Binding.objects.count() == 2
    page = resident_client.get("/portal/").content.decode()
    assert "3302888001" in page and other.number in page
    # The same account twice: a clear message, and no database error behind it.
    with failed_statements() as failed:
        r = resident_client.post(
            "/portal/accounts/add/", {"number": "3302888001", "name": "周美华"}
        )
    assert "已在" in r.content.decode() or "already" in r.content.decode()
    assert Binding.objects.count() == 2
    assert not failed


def test_wrong_details_do_not_bind_and_are_limited(
    resident_client: Client, billed_account: Any
) -> None:
    for _ in range(rules.BIND_FAILURES_PER_HOUR):
        r = resident_client.post("/portal/accounts/add/", {"number": "3302888001", "name": "李四"})
        assert r.status_code == 200
    r = resident_client.post("/portal/accounts/add/", {"number": "3302888001", "name": "周美华"})
    assert Binding.objects.count() == 0
    assert r.status_code == 200


def test_an_enterprise_account_is_shared_by_its_staff(billed_account: Any, supervisor: Any) -> None:
    a = portal_login(Client(), "13911110001")
    b = portal_login(Client(), "13911110002")
    for c in (a, b):
        c.post("/portal/accounts/add/", {"number": "3302888001", "name": "周美华"})
    assert Binding.objects.filter(account=billed_account).count() == 2


# What a customer sees -----------------------------------------------------------------
def test_bills_with_tiers_and_chart_data(resident_client: Client, billed_account: Any) -> None:
    resident_client.post("/portal/accounts/add/", {"number": "3302888001", "name": "周美华"})
    page = resident_client.get(f"/portal/accounts/{billed_account.pk}/").content.decode()
    assert page.count('data-testid="bill"') == 2
    assert "第 1 阶梯" in page
    assert 'id="usage-data"' in page and '"months": ["2023-01", "2023-02"]' in page


def test_other_customers_ids_are_404(resident_client: Client, billed_account: Any) -> None:
    from qingquan.customers.models import Bill

    bill = Bill.objects.filter(account=billed_account).first()
    assert bill is not None
    for url in [
        f"/portal/accounts/{billed_account.pk}/",
        f"/portal/invoices/{bill.pk}/",
        "/portal/cases/20230101-0001/",
        "/portal/photos/1/",
    ]:
        assert resident_client.get(url).status_code == 404, url
    r = resident_client.post("/portal/pay/", {"bill": bill.pk, "provider": "wechat"})
    assert r.status_code == 404
    r = resident_client.post(f"/portal/accounts/{billed_account.pk}/subscribe/", {"on": "1"})
    assert r.status_code == 404


def test_report_a_repair_with_a_pin_and_a_photo(
    resident_client: Client, billed_account: Any
) -> None:
    from qingquan.tickets.models import Ticket

    resident_client.post("/portal/accounts/add/", {"number": "3302888001", "name": "周美华"})
    r = resident_client.post(
        "/portal/repair/",
        {
            "kind": "repair-leak",
            "account": billed_account.pk,
            "address": "",
            "latitude": "29.8642",
            "longitude": "121.5497",
            "description": "楼道水表处漏水",
            "photos": [SimpleUploadedFile("a.png", PNG, content_type="image/png")],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert ticket.channel == "web" and ticket.account_id == billed_account.pk
    assert "29.864200" in ticket.description
    page = resident_client.get(r["Location"]).content.decode()
    assert ticket.number in page and 'data-testid="case-clock"' in page
    photo_url = f"/portal/photos/{RepairPhoto.objects.get(ticket=ticket).pk}/"
    assert resident_client.get(photo_url).status_code == 200
    assert portal_login(Client(), "13911110003").get(photo_url).status_code == 404
    assert ticket.number in resident_client.get("/portal/cases/").content.decode()


def test_a_photo_that_is_not_an_image_is_refused(resident_client: Client) -> None:
    r = resident_client.post(
        "/portal/repair/",
        {
            "kind": "repair-leak",
            "address": "药行街20号",
            "photos": [SimpleUploadedFile("a.png", b"<script>", content_type="image/png")],
        },
    )
    assert r.status_code == 200 and "JPEG" in r.content.decode()


def test_ask_a_question_from_wechat(resident_client: Client) -> None:
    from qingquan.tickets.models import Ticket

    r = resident_client.post(
        "/portal/question/",
        {"kind": "bill-amount", "question": "为什么这个月水费这么高？"},
        HTTP_USER_AGENT="Mozilla/5.0 MicroMessenger/8.0",
    )
    assert r.status_code == 302
    assert Ticket.objects.get().channel == "wechat"


def test_subscribe_my_address_to_notices(resident_client: Client, billed_account: Any) -> None:
    from qingquan.notices.models import Subscription

    resident_client.post("/portal/accounts/add/", {"number": "3302888001", "name": "周美华"})
    resident_client.post(f"/portal/accounts/{billed_account.pk}/subscribe/", {"on": "1"})
    sub = Subscription.objects.get()
    assert sub.premise_id == billed_account.premise_id and sub.address == "+8613911112222"
    resident_client.post(f"/portal/accounts/{billed_account.pk}/subscribe/", {"on": "0"})
    assert not Subscription.objects.exists()


def test_elder_mode_is_remembered(resident_client: Client) -> None:
    resident_client.post("/portal/elder/", {"on": "1", "next": "/portal/"})
    assert Resident.objects.get().elder_mode
    assert 'class="elder"' in resident_client.get("/portal/").content.decode()
    anonymous = Client()
    anonymous.post("/portal/elder/", {"on": "1"})
    assert 'class="elder"' in anonymous.get("/portal/login/").content.decode()


def test_english_page(resident_client: Client) -> None:
    resident_client.cookies["django_language"] = "en"
    page = resident_client.get("/portal/").content.decode()
    assert "My accounts" in page and "Add an account" in page


def test_the_callback_survey_is_offered_on_the_case(
    resident_client: Client, supervisor: Any
) -> None:
    from qingquan.surveys.models import CallbackTask
    from qingquan.tickets.models import Ticket

    resident_client.post("/portal/question/", {"kind": "bill-amount", "question": "发票怎么开？"})
    ticket = Ticket.objects.get()
    assert (
        'data-testid="survey"'
        not in resident_client.get(f"/portal/cases/{ticket.number}/").content.decode()
    )
    now = clock.now()
    CallbackTask.objects.create(
        purpose=CallbackTask.Purpose.CASE,
        ticket=ticket,
        assignee=supervisor,
        created_at=now,
        due_at=now + dt.timedelta(days=1),
    )
    page = resident_client.get(f"/portal/cases/{ticket.number}/").content.decode()
    assert 'data-testid="survey"' in page and "/callbacks/s/" in page
