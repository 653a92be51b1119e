"""The audit log is append-only and searchable by administrators only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from qingquan.core import audit_text
from qingquan.core.actors import system
from qingquan.core.audit import audit_record
from qingquan.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_rows_cannot_be_edited_or_deleted(agent):
    event = audit_record(actor=agent, action="test.touch", obj=agent, after={"x": 1})
    event.note = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).note == ""


def test_system_actor_is_labelled(agent):
    event = audit_record(actor=system("sla_sweep"), action="test.system", obj=agent)
    assert event.actor is None and event.actor_label == "system"
    assert (event.actor_kind, event.actor_ref) == ("system", "sla_sweep")
    with translation.override("zh-hans"):
        assert audit_text.describe(event).startswith("系统（SLA 巡检）")


def test_no_actor_is_refused(agent):
    """`None` never means "the system" by accident (#13): the audit log refuses it."""
    with pytest.raises(TypeError):
        audit_record(actor=None, action="test.none", obj=agent)


def test_staff_actor_is_recorded_with_kind(agent):
    event = audit_record(actor=agent, action="test.staff", obj=agent)
    assert (event.actor_kind, event.actor_ref, event.actor) == ("staff", agent.username, agent)


def test_administrator_searches_the_log(administrator, agent):
    audit_record(actor=administrator, action="test.alpha", obj=agent, note="first")
    audit_record(actor=administrator, action="test.beta", obj=agent, note="second")
    client = Client()
    client.force_login(administrator)
    html = client.get("/audit/", {"action": "test.beta"}).content.decode()
    assert "test.beta" in html and "test.alpha" not in html.split("<tbody>")[1]
    by_text = client.get("/audit/", {"q": agent.full_name}).content.decode()
    assert "test.alpha" in by_text


def test_admin_site_offers_no_change_or_delete(administrator, agent):
    event = audit_record(actor=administrator, action="test.gamma", obj=agent)
    client = Client()
    client.force_login(administrator)
    assert client.get(f"/admin/core/auditevent/{event.pk}/change/").status_code == 200
    assert client.get(f"/admin/core/auditevent/{event.pk}/delete/").status_code == 403
    response = client.post(f"/admin/core/auditevent/{event.pk}/change/", {"note": "x"})
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).note == ""


def test_reference_edits_in_the_admin_are_audited(administrator):
    from qingquan.areas.models import District

    client = Client()
    client.force_login(administrator)
    response = client.post(
        "/admin/areas/district/add/",
        {"code": "330299", "name": "测试区", "latitude": "", "longitude": ""},
    )
    assert response.status_code == 302
    district = District.objects.get(code="330299")
    event = AuditEvent.objects.get(action="areas.district.create")
    assert event.object_id == str(district.pk) and event.actor == administrator
