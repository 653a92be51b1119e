"""The IVR flow editor: who may use it, saving versions, errors, rollback, prompts and the
test call in the page (which keeps nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.staff.roles import Role
from qingquan.telephony import prompts
from qingquan.telephony.models import Call, IvrFlow, Prompt
from qingquan.tickets.models import Contact


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_only_supervisors_and_administrators_edit_flows(make_user: Any, standard_flow: Any) -> None:
    assert _client(make_user(Role.AGENT)).get("/telephony/flows/").status_code == 403
    response = _client(make_user(Role.SUPERVISOR)).get("/telephony/flows/edit/?flow=standard")
    assert response.status_code == 200
    assert "main_menu" in response.content.decode()
    assert _client(make_user(Role.ADMINISTRATOR)).get("/telephony/flows/").status_code == 200


@pytest.mark.django_db
def test_saving_checks_the_graph_and_rollback_restores_a_version(
    supervisor: Any, standard_flow: Any
) -> None:
    client = _client(supervisor)
    flow = IvrFlow.objects.get(slug="standard")

    def current() -> Any:
        version = flow.current()
        assert version is not None
        return version

    graph = current().graph
    response = client.post("/telephony/flows/edit/", {"graph": "{broken", "note": "x"})
    assert response.status_code == 400 and "JSON" in response.content.decode()
    bad = {**graph, "start": "nowhere"}
    response = client.post("/telephony/flows/edit/", {"graph": json.dumps(bad)})
    assert response.status_code == 400 and "nowhere" in response.content.decode()
    changed = {**graph, "start": "main"}
    response = client.post(
        "/telephony/flows/edit/", {"graph": json.dumps(changed), "note": "no greeting"}
    )
    assert response.status_code == 302
    assert current().number == 2 and current().created_by == supervisor
    assert client.post("/telephony/flows/edit/", {"rollback": "1"}).status_code == 302
    assert current().number == 3 and current().graph == graph
    assert AuditEvent.objects.filter(action="telephony.flow.save").count() == 2


@pytest.mark.django_db
def test_the_test_call_plays_the_flow_and_keeps_nothing(
    supervisor: Any, standard_flow: Any
) -> None:
    response = _client(supervisor).post(
        "/telephony/flows/test/", {"keys": "- - -", "caller": "13800005678"}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "欢迎致电" in text and "q_general" in text
    assert Call.objects.count() == 0 and Contact.objects.count() == 0


@pytest.mark.django_db
def test_prompts_are_edited_uploaded_and_spoken(
    supervisor: Any, tmp_path: Path, settings: Any, standard_flow: Any
) -> None:
    settings.TELEPHONY_PROMPT_DIR = tmp_path
    client = _client(supervisor)
    response = client.post(
        "/telephony/prompts/", {"key": "goodbye", "text": "再见。", "flow": "standard"}
    )
    assert (
        response.status_code == 302
        and response["Location"] == "/telephony/flows/edit/?flow=standard"
    )
    assert Prompt.objects.get(key="goodbye").text == "再见。"
    client.post("/telephony/prompts/", {"key": "goodbye", "text": " "})
    assert Prompt.objects.get(key="goodbye").text == "再见。"
    if prompts.tools_available():
        audio = client.get("/telephony/flows/speak/", {"key": "goodbye", "text": "再见。"})
        assert audio.status_code == 200 and audio["Content-Type"] == "audio/wav"
    assert client.get("/telephony/flows/speak/").status_code == 404
