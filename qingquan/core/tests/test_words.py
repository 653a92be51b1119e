"""Every word we show is Chinese in the Chinese interface: the admin (third-party apps'
screens included), shift names and the audit log's action codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.utils import translation

from qingquan.core import audit_text
from qingquan.core.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
THIRD_PARTY = ("axes", "django_tasks_database")


def chinese(text: Any) -> bool:
    return bool(CJK.search(str(text)))


def test_third_party_admin_models_fields_and_choices_are_chinese() -> None:
    registered = [m for m in admin.site._registry if m._meta.app_label in THIRD_PARTY]
    assert {m._meta.app_label for m in registered} == set(THIRD_PARTY)
    with translation.override("zh-hans"):
        for label in THIRD_PARTY:
            assert chinese(apps.get_app_config(label).verbose_name), label
        for model in registered:
            assert chinese(model._meta.verbose_name), model
            assert chinese(model._meta.verbose_name_plural), model
            for field in model._meta.concrete_fields:
                # Primary keys show as the record's link, never under their own name.
                if field.auto_created or field.primary_key:
                    continue
                assert chinese(field.verbose_name), f"{model.__name__}.{field.name}"
                for _value, text in field.choices or []:
                    assert chinese(text), f"{model.__name__}.{field.name}: {text}"


@pytest.mark.django_db
def test_third_party_admin_screens_render_in_chinese(administrator: Any) -> None:
    client = Client()
    client.force_login(administrator)
    index = client.get("/admin/").content.decode()
    for english in ("Axes", "Tasks Database Backend", "Access attempts", "Task Results"):
        assert english not in index
    assert "登录锁定" in index and "后台任务" in index
    # The sidebar's headers for screen readers (Django's catalogue lacks them).
    assert "Model name" not in index and "模型名称" in index
    page = client.get("/admin/django_tasks_database/dbtaskresult/").content.decode()
    assert "任务结果" in page and "Task Result" not in page
    page = client.get("/admin/axes/accessattempt/").content.decode()
    assert "登录尝试" in page and "Access attempt" not in page


def test_standard_shift_codes_have_names_in_both_languages() -> None:
    from qingquan.staff.demo import SHIFTS
    from qingquan.staff.models import SHIFT_LABELS, Shift

    for code, _name, starts, ends in SHIFTS:
        assert code in SHIFT_LABELS, code
        shift = Shift(code=code, name=code, starts=starts, ends=ends)
        with translation.override("zh-hans"):
            assert chinese(shift.label) and code not in str(shift)
        with translation.override("en"):
            assert not chinese(shift.label) and code not in shift.label


def recorded_action_codes() -> set[str]:
    """The constant action codes passed to `audit_record` (and the case services' `_commit`,
    which records "ticket.<step>") anywhere in the code."""
    codes: set[str] = set()
    for path in (ROOT).rglob("*.py"):
        if {"tests", "migrations"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in ("audit_record", "_commit"):
                continue
            for keyword in node.keywords:
                if keyword.arg != "action":
                    continue
                # A constant, or either branch of a conditional (f-strings are listed
                # by the test below).
                branches = (
                    [keyword.value.body, keyword.value.orelse]
                    if isinstance(keyword.value, ast.IfExp)
                    else [keyword.value]
                )
                for value in branches:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        codes.add(("ticket." if name == "_commit" else "") + value.value)
    return codes


def test_every_audit_code_reads_as_a_sentence_in_both_languages() -> None:
    from qingquan.tickets.rules import RULES

    codes = recorded_action_codes()
    assert {"ticket.dispatch", "report.send", "customers.customer.create"} <= codes
    # Codes built at run time: callbacks, call events, imports, reference deletes.
    codes |= {f"callback.{a}" for a in ("create", "attempt", "complete")}
    codes |= {f"telephony.call.{t}" for t in ("ring", "answer", "hangup")}
    codes |= {f"customers.{m}.import" for m in ("customer", "premise", "account", "meter")}
    codes |= {"customers.meterreading.import", "staff.team.delete", "tickets.casekind.update"}
    codes |= {f"ticket.{step}" for step in RULES if step not in ("extension_decide",)}
    missing = sorted(code for code in codes if audit_text.sentence_for(code) is None)
    assert missing == []
    for code in codes:
        template = audit_text.sentence_for(code)
        values = {"actor": "A", "object": "O", "target": "T"}
        with translation.override("zh-hans"):
            assert chinese(str(template) % values), code
        with translation.override("en"):
            assert not chinese(str(template) % values), code


@pytest.mark.django_db
def test_the_audit_log_reads_in_sentences_with_the_raw_diff_on_demand(
    administrator: Any, make_user: Any
) -> None:
    from qingquan.staff.roles import DepartmentKind, Role
    from qingquan.staff.tests.factories import department, team
    from qingquan.tickets import services
    from qingquan.tickets.models import CaseKind

    repair = department("repair", DepartmentKind.REPAIR)
    crew = team("crew-haishu", repair, is_crew=True)
    crew.name = "海曙抢修班"
    crew.save()
    agent = make_user(Role.AGENT, full_name="邱艳")
    case = services.ticket_create(
        actor=agent, kind=CaseKind.objects.get(code="repair-burst"), channel="phone", subject="爆管"
    )
    services.ticket_dispatch(actor=agent, ticket=case, version=case.version, team=crew)
    client = Client()
    client.force_login(administrator)
    html = client.get("/audit/").content.decode()
    assert f"邱艳 将工单 {case.number} 派至 海曙抢修班" in html
    assert "<details" in html and "ticket.dispatch" in html  # the raw code, on demand only
    assert "{&#x27;" not in html and "{'" not in html  # no Python dicts
    event = AuditEvent.objects.get(action="ticket.dispatch")
    assert ("team", None, crew.pk) in audit_text.changes(event)
    client.cookies["django_language"] = "en"
    english = client.get("/audit/").content.decode()
    assert f"邱艳 dispatched case {case.number} to 海曙抢修班" in english
    # The administrator's home page lists recent changes in sentences too.
    home = client.get("/").content.decode()
    assert f"dispatched case {case.number} to 海曙抢修班" in home
    assert "ticket.dispatch" not in home
