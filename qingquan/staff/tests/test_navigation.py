"""The page's bell shows the unread count; a fragment the console fetches (no bell) does
not count them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from qingquan.core.notifications import notify
from qingquan.staff.models import Role

pytestmark = pytest.mark.django_db


def _notification_reads(client: Client, url: str, **headers: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    count = sum('"core_notification"' in q["sql"] for q in queries.captured_queries)
    return response, count


def test_the_bell_counts_once_and_a_fragment_not_at_all(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    notify(recipient=agent, title="一条提醒")
    notify(recipient=agent, title="另一条提醒")
    client = Client()
    client.force_login(agent)

    page, on_page = _notification_reads(client, "/console/")
    assert page.status_code == 200
    assert on_page == 1
    assert b'id="unread-count" class="badge">2<' in page.content

    fragment, in_fragment = _notification_reads(client, "/console/lookup/?q=1", HX_Request="true")
    assert fragment.status_code == 200
    assert b"unread-count" not in fragment.content
    assert in_fragment == 0
