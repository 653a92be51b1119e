"""The lookup by every key form, masking by role, the customer record, the invoice PDF."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from qingquan.core.actors import SYSTEM
from qingquan.customers import invoices, selectors, services
from qingquan.customers.models import Account, Bill, PaymentChannel
from qingquan.customers.tests import factories as f
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def household() -> Account:
    cust = f.customer(name="李桂英", phones=("13800005678", "0574-87654321"))
    acc = f.account(cust, number="3302123456", road="解放南路88号", building="7", room="1201")
    for month in range(1, 15):
        year, m = 2023 + (month - 1) // 12, (month - 1) % 12 + 1
        end = dt.date(year, m, 28)
        f.read(acc, end, str(10 * month))
        services.bill_issue(
            actor=SYSTEM, account=acc, period_start=dt.date(year, m, 1) if month > 1 else
            dt.date(2023, 1, 1), period_end=end,
        )  # fmt: skip
    return acc


@pytest.mark.parametrize(
    "query",
    ["+86 138 0000 5678", "13800005678", "138-0000-5678", "0574-87654321", "87654321",
     "8765 4321", "3302123456", "解放南路88号", "海曙区 解放南路88号 7幢", "李桂英"],
)  # fmt: skip
def test_lookup_finds_the_customer_by_every_key(
    household: Account, make_user: Any, query: str
) -> None:
    found = selectors.customer_lookup(user=make_user(Role.AGENT), query=query)
    assert [c.name for c in found] == ["李桂英"]
    card = found[0]
    assert card.accounts[0].number == "3302123456"
    assert len(card.accounts[0].bills) == 12
    assert card.accounts[0].bills[0].period_end == dt.date(2024, 2, 28)
    assert card.balance == card.accounts[0].balance > 0
    assert card.open_cases == []
    assert card.interruptions == []


def test_lookup_matched_by_says_which_key(household: Account, agent: Any) -> None:
    assert selectors.customer_lookup(user=agent, query="13800005678")[0].matched_by == "phone"
    assert selectors.customer_lookup(user=agent, query="3302123456")[0].matched_by == "account"
    assert selectors.customer_lookup(user=agent, query="解放南路")[0].matched_by == "address"


def test_lookup_misses_return_nothing(household: Account, agent: Any) -> None:
    for query in ["13900001111", "", "   ", "1", "不存在的路", "9999999999"]:
        assert selectors.customer_lookup(user=agent, query=query) == []


def test_balance_counts_partial_payments(household: Account, agent: Any) -> None:
    bills = list(household.bills.order_by("period_end"))
    total = sum((b.total for b in bills), D(0))
    services.payment_record(
        actor=SYSTEM, bill=bills[0], amount=D("5.00"), channel=PaymentChannel.BANK
    )
    card = selectors.customer_lookup(user=agent, query="3302123456")[0]
    assert card.balance == total - D("5.00")


def test_phone_numbers_are_masked_for_agents_only(household: Account, make_user: Any) -> None:
    def numbers(role: Role) -> list[str]:
        card = selectors.customer_lookup(user=make_user(role), query="3302123456")[0]
        return [p.number for p in card.phones]

    assert numbers(Role.AGENT) == ["138****5678", "057*****4321"]
    assert numbers(Role.DISPATCHER) == ["138****5678", "057*****4321"]
    assert numbers(Role.SUPERVISOR) == ["13800005678", "057487654321"]
    assert numbers(Role.BACK_OFFICE) == ["13800005678", "057487654321"]


def test_crews_may_not_look_customers_up(household: Account, make_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        selectors.customer_lookup(user=make_user(Role.CREW), query="13800005678")


def test_customer_record_explains_a_bill_against_last_year(household: Account, agent: Any) -> None:
    record = selectors.customer_record(user=agent, customer_id=household.customer_id)
    bills = record.bills[household.pk]
    assert len(bills) == 14
    latest = bills[0]
    why = selectors.explain(latest, bills)
    assert why.last_year_volume == D("10")  # February 2023
    assert latest.volume == D("10")
    assert why.change_percent == 0
    assert why.tier_bounds == [D("216"), D("300")]
    assert why.annual_to_date == D("20")


def _paid_invoice(acc: Account) -> Any:
    bill = acc.bills.order_by("period_end").first()
    assert isinstance(bill, Bill)
    services.payment_record(actor=SYSTEM, bill=bill, amount=bill.total, channel="wechat")
    return services.invoice_issue(actor=SYSTEM, bill=bill)


def test_invoice_pdf_has_cjk_font_number_and_payer(household: Account, tmp_path: Path) -> None:
    invoice = _paid_invoice(household)
    pdf = invoices.invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils (pdftotext, pdffonts) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout
    cjk = [row.split() for row in fonts.decode().splitlines() if "CJK" in row]
    assert cjk, fonts
    assert all("yes" in row[-5:-3] for row in cjk), fonts  # the "emb" column
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert invoice.number in text
    assert "李桂英" in text
    assert "电子发票" in text


def test_qr_payload_carries_number_amount_and_code(household: Account) -> None:
    invoice = _paid_invoice(household)
    payload = invoices.qr_payload(invoice)
    assert invoice.number in payload
    assert str(invoice.amount) in payload
    assert invoice.verification_code in payload
    assert invoices.qr_data_uri(payload).startswith("data:image/png;base64,")


def test_lookup_query_count_does_not_grow_with_results(
    household: Account, agent: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        f.account(f.customer(name=f"解放{n}", phones=()), road="解放南路88号")
    with django_assert_max_num_queries(8):
        found = selectors.customer_lookup(user=agent, query="解放南路88号")
    assert len(found) == 6


def test_lookup_balance_counts_old_open_bills_but_not_cancelled_ones(
    household: Account, agent: Any
) -> None:
    bills = list(household.bills.order_by("period_end"))
    for bill in bills[2:]:  # the 12 recent ones paid: only the two oldest stay open
        services.payment_record(actor=SYSTEM, bill=bill, amount=bill.total, channel="bank")
    invoice = services.invoice_issue(actor=SYSTEM, bill=bills[-1])
    services.bill_cancel(actor=SYSTEM, bill=bills[1], reason="重复出账")
    card = selectors.customer_lookup(user=agent, query="13800005678")[0]
    account = card.accounts[0]
    assert [b.id for b in account.bills] == [b.pk for b in reversed(bills[2:])]
    assert account.balance == card.balance == bills[0].total  # older than the last 12
    assert account.bills[0].has_invoice and invoice.bill_id == account.bills[0].id
    assert not any(b.has_invoice for b in account.bills[1:])
    assert all(b.outstanding == 0 and b.paid == b.total for b in account.bills)


def test_lookup_by_phone_is_four_queries(
    household: Account, agent: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(4):
        [card] = selectors.customer_lookup(user=agent, query="13800005678")
    assert card.phones[0].number == "138****5678"
    assert card.accounts[0].district == "海曙区"
    assert card.accounts[0].tariff
    assert card.kind_label == "Person"


def _luminance(image: Any, x: int, y: int) -> int:
    value = image.getpixel((x, y))
    return int(value)


def test_invoice_pdf_text_never_overlaps_the_qr_code(household: Account, tmp_path: Path) -> None:
    """Rendered like a reader sees it (pdftoppm), the QR code's dark square holds no word:
    the buyer's name and tax number used to sit under it."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftoppm, pdftotext) is not installed")
    import re

    from PIL import Image

    path = tmp_path / "invoice.pdf"
    path.write_bytes(invoices.invoice_pdf(_paid_invoice(household)))
    # 72 dpi: one pixel per PDF point, the unit of pdftotext's word boxes.
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
    )
    image = Image.open(tmp_path / "page.png").convert("L")
    width, height = image.size
    # The QR code: the black pixels of the page's top-left quarter.
    dark = [
        (x, y)
        for x in range(width // 4)
        for y in range(height // 2)
        if _luminance(image, x, y) < 10
    ]
    assert dark, "no QR code found"
    qr = (
        min(x for x, _ in dark),
        min(y for _, y in dark),
        max(x for x, _ in dark),
        max(y for _, y in dark),
    )
    assert qr[2] - qr[0] > 40  # about 22 mm
    subprocess.run(["pdftotext", "-bbox", str(path), str(tmp_path / "words.html")], check=True)
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        (tmp_path / "words.html").read_text(),
    )
    assert any("李桂英" in w[4] for w in words)
    for x0, y0, x1, y1, text in words:
        box = (float(x0), float(y0), float(x1), float(y1))
        apart = box[2] <= qr[0] or box[0] >= qr[2] or box[3] <= qr[1] or box[1] >= qr[3]
        assert apart, f"“{text}” {box} overlaps the QR code {qr}"
