"""Applications: one document, valid numbers, premises without a connection, the
owner's steps only; every refusal clear and nothing half-written."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from qingquan.connections import services
from qingquan.connections.models import Application, ApplicationStep, FeeItem, Quote
from qingquan.core.access import AccessDenied
from qingquan.core.models import AuditEvent

from .conftest import document, sh

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return not Application.objects.exists() and not ApplicationStep.objects.exists()


def test_an_application_has_one_document_a_manager_and_its_steps(apply: Any, people: Any) -> None:
    app = apply()
    assert app.number.startswith("BZ") and app.manager == people["manager"]
    assert app.document_type == "application/pdf"
    first, second = app.steps.order_by("order")
    assert first.owner == people["manager"] and first.started_at is not None
    assert second.owner is None and second.started_at is None
    assert AuditEvent.objects.filter(action="connections.apply", object_id=str(app.pk)).exists()
    assert app.entries.count() == 2


def test_second_document_is_refused(apply: Any) -> None:
    with pytest.raises(services.Refused, match="Only one document"):
        apply(documents=[document(), document("id.pdf")])
    assert nothing_written()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"document_number": "91330203MA2AAAAAA1"}, "unified social credit code"),
        (
            {
                "applicant_kind": "person",
                "document_kind": "id_card",
                "document_number": "110105194912310021",
            },
            "resident ID number",
        ),
        ({"documents": [document("x.pdf", b"MZ\x90\x00 not a pdf")]}, "PDF, JPEG or PNG"),
        ({"document_kind": "id_card"}, "business licence"),
    ],
)
def test_wrong_numbers_and_files_are_refused(apply: Any, fields: Any, message: str) -> None:
    with pytest.raises(services.Refused, match=message):
        apply(**fields)
    assert nothing_written()


def test_a_resident_with_a_valid_id(apply: Any) -> None:
    app = apply(
        applicant_kind="person",
        document_kind="id_card",
        document_number="11010519491231002x",
        use="residential",
    )
    assert app.document_number == "11010519491231002X"


def test_premises_with_an_active_connection_are_refused(apply: Any) -> None:
    from qingquan.customers.tests.factories import account, premise

    connected = account().premise
    with pytest.raises(services.Refused, match="already has an active water connection"):
        apply(premise=connected)
    place = premise()
    first = apply(premise=place)
    with pytest.raises(services.Refused, match=first.number):
        apply(premise=place)
    assert Application.objects.count() == 1


def test_a_step_by_someone_who_does_not_own_it_is_refused(apply: Any, people: Any) -> None:
    app = apply()
    with pytest.raises(AccessDenied, match="only its owner"):
        services.step_complete(
            actor=people["manager2"], application=app, engineer=people["engineer"]
        )
    with pytest.raises(AccessDenied):
        services.step_complete(actor=people["agent"], application=app)
    app = services.step_complete(
        actor=people["manager"], application=app, engineer=people["engineer"]
    )
    with pytest.raises(AccessDenied, match="only its owner"):
        services.step_complete(actor=people["manager"], application=app)
    app.refresh_from_db()
    assert app.step == 2 and app.engineer == people["engineer"]


def test_fee_table_refuses_application_and_handling_fees_and_empty_services(
    people: Any, apply: Any, at: Any
) -> None:
    admin = people["admin"]
    for kind in ("application", "handling"):
        with pytest.raises(services.Refused, match="application or handling fee"):
            services.fee_item_save(
                actor=admin,
                item=FeeItem(
                    code=f"x-{kind}", name="报装手续费", kind=kind, service="受理", unit_price=50
                ),
            )
    with pytest.raises(services.Refused, match="no service behind it"):
        services.fee_item_save(
            actor=admin,
            item=FeeItem(code="x-none", name="杂费", kind="works", service="", unit_price=20),
        )
    assert not FeeItem.objects.filter(code__startswith="x-").exists()
    saved = services.fee_item_save(
        actor=admin,
        item=FeeItem(
            code="x-ok", name="DN32 接户管", kind="works", service="敷设接户管", unit_price=120
        ),
    )
    assert saved.pk
    with pytest.raises(AccessDenied):
        services.fee_item_save(actor=people["manager"], item=saved)
    # An item slipped into the table some other way is still refused on a quote.
    bad = FeeItem.objects.create(
        code="x-bad", name="手续费", kind="handling", service="", unit_price=10
    )
    at(sh(2026, 3, 2, 9))
    app = services.step_complete(
        actor=people["manager"], application=apply(), engineer=people["engineer"]
    )
    with pytest.raises(services.Refused, match="handling fee"):
        services.quote_issue(
            actor=people["engineer"], application=app, lines=[(saved, 1), (bad, 1)]
        )
    assert not Quote.objects.exists()


def test_contract_pdf_has_the_signature(apply: Any, people: Any, at: Any, tmp_path: Any) -> None:
    at(sh(2026, 3, 2, 9))
    app = services.step_complete(
        actor=people["manager"], application=apply(), engineer=people["engineer"]
    )
    services.quote_issue(
        actor=people["engineer"], application=app, lines=[(FeeItem.objects.get(code="tap"), 1)]
    )
    quote = services.contract_acknowledge(actor=people["manager"], application=app, signer="赵总")
    pdf = services.contract_pdf(quote)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils (pdftotext, pdffonts) is not installed")
    path = tmp_path / "contract.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout
    assert any("CJK" in row for row in fonts.decode().splitlines()), fonts
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert app.number in text and "赵总" in text and "供水报装工程合同" in text
    assert "850.00" in text
