"""The electronic invoice as a PDF (WeasyPrint, Noto CJK embedded, QR code inline).

The document is rendered from the Invoice row each time it is asked for, so a download
today is byte-for-byte the same invoice as on the day it was issued (apart from PDF
metadata), and no file store has to be kept in step with the database.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
from django.template.loader import render_to_string
from django.utils import translation

from qingquan.core.clock import SHANGHAI
from qingquan.customers import privacy
from qingquan.customers.models import Invoice

SELLER = "宁波市自来水有限公司"
SELLER_TAX_ID = "913302001440686430"


def qr_payload(invoice: Invoice) -> str:
    """The text in the QR code, in the layout of Chinese e-invoice codes:
    version, kind, code, number, amount, date, verification code."""
    issued = invoice.issued_at.astimezone(SHANGHAI)
    return f"01,32,,{invoice.number},{invoice.amount},{issued:%Y%m%d},{invoice.verification_code},"


def qr_data_uri(text: str) -> str:
    """A PNG QR code of `text` as a data: URI (no file, no network)."""
    image = qrcode.make(text, box_size=4, border=1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def invoice_html(invoice: Invoice, user: Any = None) -> str:
    """The invoice's HTML as `user` may see it (the payer's name through `shown`; without a
    user, e.g. a test or a command, the legal document in full)."""
    bill = invoice.bill
    payer = invoice.payer_name
    if user is not None:
        payer = privacy.shown(payer, user=user, kind=privacy.Kind.NAME)
    context = {
        "invoice": invoice,
        "payer_name": payer,
        "bill": bill,
        "lines": list(bill.lines.all()),
        "account": bill.account,
        "premise": bill.account.premise,
        "issued": invoice.issued_at.astimezone(SHANGHAI),
        "seller": SELLER,
        "seller_tax_id": SELLER_TAX_ID,
        "qr": qr_data_uri(qr_payload(invoice)),
    }
    # An invoice is a Chinese legal document whatever language the staff member reads.
    with translation.override("zh-hans"):
        return render_to_string("customers/invoice_pdf.html", context)


def invoice_pdf(invoice: Invoice, user: Any = None) -> bytes:
    """The invoice as PDF bytes (for `user`: see `invoice_html`)."""
    from weasyprint import HTML

    pdf = HTML(string=invoice_html(invoice, user)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
