"""Silent workers are shown to administrators (admin index and status page) and to the
supervisors on the wallboard, in both languages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from qingquan.core import clock
from qingquan.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def beat(worker_id: str, seconds_ago: int) -> WorkerHeartbeat:
    now = clock.now()
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="web1",
        pid=4242 + seconds_ago,
        kind="worker",
        started_at=now - dt.timedelta(hours=1),
        seen_at=now - dt.timedelta(seconds=seconds_ago),
    )


def get(user: Any, url: str, language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language  # pages ignore Accept-Language
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@time_machine.travel("2026-11-30 03:00 +0800", tick=False)  # "300 s" even on a slow run
def test_admin_shows_a_worker_silent_for_over_a_minute(administrator: Any) -> None:
    beat("alive", 5)
    assert "silent-workers" not in get(administrator, "/admin/", "en")
    beat("dead", 300)
    english = get(administrator, "/admin/", "en")
    assert "1 background worker silent for over a minute" in english
    assert "后台任务进程" in get(administrator, "/admin/", "zh-hans")
    status = get(administrator, "/admin/status/", "en")
    assert status.count('data-testid="worker-row"') == 2
    assert status.count('data-testid="worker-silent"') == 1
    assert "silent for 300 s" in status
    assert "partners.webhooks" in status  # the outboxes' backlog
    assert "已静默 300 秒" in get(administrator, "/admin/status/", "zh-hans")


def test_status_page_is_for_administrators_only(agent: Any) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get("/admin/status/").status_code in (302, 403)


def test_wallboard_warns_of_a_silent_worker(supervisor: Any) -> None:
    beat("alive", 5)
    assert "silent-workers" not in get(supervisor, "/console/wallboard/", "en")
    beat("dead", 90)
    english = get(supervisor, "/console/wallboard/", "en")
    assert "1 background worker has been silent for over a minute" in english
    assert "后台任务进程" in get(supervisor, "/console/wallboard/", "zh-hans")
