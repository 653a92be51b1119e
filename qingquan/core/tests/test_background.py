"""Periodic jobs are claimed once per slot; notifications are deduplicated and pushed."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django_tasks import task

from qingquan.core import periodic
from qingquan.core.models import Notification, PeriodicSlot
from qingquan.core.notifications import notification_mark_read, notify, user_group

RUNS: list[str] = []


@task()
def remember() -> None:
    RUNS.append("ran")


@pytest.fixture
def registered(monkeypatch):
    # Only this job: the apps' own periodic jobs have other periods.
    monkeypatch.setattr(periodic, "REGISTRY", {})
    periodic.every(60)(remember)


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_in_one_slot_enqueue_once(registered, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    RUNS.clear()
    at = dt.datetime(2026, 11, 28, 9, 0, 5, tzinfo=dt.UTC)
    assert periodic.tick(at=at) != []
    assert periodic.tick(at=at + dt.timedelta(seconds=30)) == []  # same minute slot
    assert RUNS == ["ran"]
    assert periodic.tick(at=at + dt.timedelta(seconds=60)) != []
    assert RUNS == ["ran", "ran"]
    assert PeriodicSlot.objects.count() == 2


@pytest.mark.django_db
def test_notify_deduplicates_by_key(agent):
    first = notify(recipient=agent, title="SLA warning", dedupe_key="t1:warn")
    second = notify(recipient=agent, title="SLA warning", dedupe_key="t1:warn")
    assert first is not None and second is None
    assert Notification.objects.filter(recipient=agent).count() == 1
    assert notification_mark_read(recipient=agent) == 1
    assert Notification.objects.filter(recipient=agent).unread().count() == 0


@pytest.mark.django_db(transaction=True)
def test_notification_is_pushed_to_the_users_group_after_commit(agent):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(agent.pk), channel)
    notify(recipient=agent, title="Case 20261128-0001 transferred to you", link="/x/")
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "push"
    assert message["event"]["title"].startswith("Case 20261128-0001")


@pytest.mark.django_db(transaction=True)
def test_websocket_requires_login_and_delivers_events(agent):
    # asgiref's communicator directly: channels.testing would pull in daphne.
    import json

    from asgiref.testing import ApplicationCommunicator
    from django.contrib.auth.models import AnonymousUser

    from qingquan.core.consumers import StaffEventsConsumer

    def socket(user: object) -> ApplicationCommunicator:
        scope = {"type": "websocket", "path": "/ws/events/", "headers": [], "user": user}
        return ApplicationCommunicator(StaffEventsConsumer.as_asgi(), scope)

    async def scenario() -> None:
        anonymous = socket(AnonymousUser())
        await anonymous.send_input({"type": "websocket.connect"})
        assert (await anonymous.receive_output(2))["type"] == "websocket.close"

        comm = socket(agent)
        await comm.send_input({"type": "websocket.connect"})
        assert (await comm.receive_output(2))["type"] == "websocket.accept"
        await get_channel_layer().group_send(
            user_group(agent.pk), {"type": "push", "event": {"kind": "ping", "title": "hi"}}
        )
        frame = await comm.receive_output(2)
        assert json.loads(frame["text"]) == {"kind": "ping", "title": "hi"}
        await comm.send_input({"type": "websocket.disconnect", "code": 1000})
        await comm.wait(1)

    async_to_sync(scenario)()
