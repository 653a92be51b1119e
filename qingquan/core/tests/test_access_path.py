"""One access path (#13 item 3): one error on every interface, explicit actors, no
superuser bypass, every admin screen under capabilities, no API import cycle."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from qingquan.core.access import AccessDenied
from qingquan.core.actors import SYSTEM
from qingquan.core.admin import CapabilityAdmin, ThirdPartyCapabilityAdmin
from qingquan.staff.access import CAPABILITIES, check, require
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


def test_check_raises_the_one_error_and_refuses_no_actor(agent):
    with pytest.raises(AccessDenied) as denied:
        check(agent, "audit.view")
    assert denied.value.capability == "audit.view" and "audit.view" in denied.value.message
    check(SYSTEM, "audit.view")  # the system holds every capability
    with pytest.raises(TypeError):
        check(None, "audit.view")


def test_view_decorator_raises_it_and_the_page_is_403(agent):
    @require("audit.view")
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    request = RequestFactory().get("/x")
    request.user = agent
    with pytest.raises(AccessDenied):
        view(request)
    client = Client()
    client.force_login(agent)
    assert client.get("/audit/").status_code == 403


def test_staff_api_answers_403_json(agent):
    client = Client()
    client.force_login(agent)
    response = client.get("/api/v1/reports/kpis")
    assert response.status_code == 403
    assert "reports.view" in response.json()["detail"]
    response = client.get("/api/v1/knowledge/proposals")
    assert response.status_code == 403 and "detail" in response.json()


def test_open311_answers_the_spec_error_list():
    from qingquan.open311.views import open311_view

    @open311_view(["GET"])
    def view(request: HttpRequest, fmt: str) -> HttpResponse:
        raise AccessDenied(capability="tickets.create")

    response = view(RequestFactory().get("/open311/x.json"), "json")
    assert response.status_code == 403
    assert json.loads(response.content)[0]["code"] == 403
    xml = view(RequestFactory().get("/open311/x.xml"), "xml")
    assert xml.status_code == 403 and b"<errors><error><code>403</code>" in xml.content


def test_services_refuse_no_actor(agent):
    from qingquan.tickets import services as tickets
    from qingquan.tickets.models import CaseKind

    kind = CaseKind.objects.filter(is_active=True).first()
    with pytest.raises(TypeError):
        tickets.ticket_create(
            actor=None, kind=kind, channel="phone", subject="x", caller_phone="13800000000"
        )


def test_no_role_is_a_superuser(make_user):
    for role in Role:
        assert not make_user(role).is_superuser


def test_every_registered_model_admin_is_under_capabilities():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, CapabilityAdmin | ThirdPartyCapabilityAdmin), model
        for name in ("view_capability", "change_capability"):
            assert getattr(model_admin, name) in CAPABILITIES, (model, name)


def _changelists() -> list[str]:
    return [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
        for m in admin.site._registry
    ]


@pytest.mark.parametrize("role", list(Role))
def test_admin_screens_follow_capabilities_for_every_role(make_user, role):
    """Administrators browse every screen through their capabilities (not a superuser
    flag); the other roles only what their capabilities grant, never a model permission."""
    user = make_user(role)
    client = Client()
    client.force_login(user)
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        request: Any = RequestFactory().get(url)
        request.user = user
        may = admin.site.has_permission(request) and model_admin.has_view_permission(request)
        status = client.get(url).status_code
        if may:
            assert status == 200, (role, url, status)
        else:
            assert status in (302, 403), (role, url, status)
        if role == Role.ADMINISTRATOR:
            assert may, url


@pytest.mark.parametrize(
    "module",
    [
        "qingquan.customers.api",
        "qingquan.api",
        "qingquan.tickets.api",
        "qingquan.surveys.api",
        "qingquan.reports.api",
        "qingquan.telephony.api",
        "qingquan.knowledge.api",
        "qingquan.partners.api",
    ],
)
def test_each_api_module_imports_first_in_a_fresh_interpreter(module):
    code = f"import django; django.setup(); import {module}; import qingquan.api"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "qingquan.settings"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
