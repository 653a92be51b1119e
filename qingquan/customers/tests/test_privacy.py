"""The one masking function: what each kind looks like masked, who sees it in full, and the
log of full numbers shown (one row per record and place, written at the end of a request)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from qingquan.core.actors import SYSTEM
from qingquan.customers import privacy
from qingquan.customers.models import Disclosure
from qingquan.customers.privacy import Kind, mask, shown
from qingquan.staff.roles import Role


@pytest.mark.parametrize(
    ("value", "kind", "masked"),
    [
        ("13812345678", Kind.PHONE, "138****5678"),
        ("+8613812345678", Kind.PHONE, "138****5678"),
        ("138 1234 5678", Kind.PHONE, "138****5678"),  # as typed: no longer shown whole
        ("0574-87654321", Kind.PHONE, "057*****4321"),
        ("wang@example.com", Kind.PHONE, "w***@example.com"),  # a contact's "from"
        ("wang@example.com", Kind.EMAIL, "w***@example.com"),
        ("wxid_abcdef", Kind.PHONE, "w*********f"),
        ("330203199001011236", Kind.ID_NUMBER, "3302************36"),
        ("欧阳秘辛", Kind.NAME, "欧***"),
        ("王", Kind.NAME, "王*"),
        ("", Kind.PHONE, ""),
    ],
)
def test_mask(value: str, kind: str, masked: str) -> None:
    assert mask(value, kind) == masked
    assert len(value) < 2 or value not in masked


@pytest.mark.django_db
def test_shown_by_role_and_logged_once_per_request(make_user: Any) -> None:
    agent, crew, supervisor = (
        make_user(Role.AGENT),
        make_user(Role.CREW),
        make_user(Role.SUPERVISOR),
    )
    assert shown("13812345678", user=agent) == "138****5678"
    assert shown("张三丰", user=agent, kind=Kind.NAME) == "张三丰"
    assert shown("张三丰", user=crew, kind=Kind.NAME) == "张**"
    assert shown("13812345678", user=None) == "138****5678"
    assert not Disclosure.objects.exists()

    request = RequestFactory().get("/customers/7/")
    request.user = supervisor

    def view(req: Any) -> Any:
        for _ in range(3):
            assert shown("13812345678", user=supervisor, of=("customers.customer", 7)) == (
                "13812345678"
            )
        shown("张三丰", user=supervisor, kind=Kind.NAME)  # names are not logged
        assert not Disclosure.objects.exists()  # written when the answer is ready
        return "answer"

    assert privacy.DisclosureMiddleware(view)(request) == "answer"
    row = Disclosure.objects.get()
    assert (row.user, row.kind, row.masked) == (supervisor, Kind.PHONE, "138****5678")
    assert (row.object_type, row.object_id, row.where) == (
        "customers.customer",
        "7",
        "GET /customers/7/",
    )

    # Outside a request (a push, a task) the row is written at once, with its place.
    with privacy.disclosed_at("push: screen pop"):
        shown("13812345678", user=supervisor)
    assert Disclosure.objects.filter(where="push: screen pop").count() == 1


@pytest.mark.django_db
def test_audit_snapshots_are_shown_through_the_same_function(make_user: Any, client: Any) -> None:
    from qingquan.core import audit
    from qingquan.core.models import AuditEvent
    from qingquan.customers.tests import factories as f

    administrator, agent = make_user(Role.ADMINISTRATOR), make_user(Role.AGENT)
    from qingquan.customers import services

    customer = f.customer(name="赵六", phones=())
    services.phone_add(actor=SYSTEM, customer=customer, number="13911112222")
    event = AuditEvent.objects.filter(after__icontains="13911112222").get()
    assert "13911112222" in str(event.after)
    masked = audit.shown_snapshot(event, event.after, agent)
    assert "13911112222" not in str(masked) and "139****2222" in str(masked)

    client.force_login(administrator)
    page = client.get("/audit/").content.decode()
    assert "13911112222" in page  # administrators hold the right, and it is logged
    assert Disclosure.objects.filter(user=administrator, where="GET /audit/").exists()
    change = client.get(f"/admin/core/auditevent/{event.pk}/change/").content.decode()
    assert "13911112222" in change
    assert Disclosure.objects.filter(where__startswith="GET /admin/core/auditevent/").exists()
