"""Who is signed in is read at every staff request: the session (`core.sessions`) and
the staff member (`staff.backends.StaffBackend`), each with one precompiled statement.
They answer as Django's database sessions and ModelBackend answer: an expired session is
no session, an inactive or deleted account is nobody."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from qingquan.core.sessions import SessionStore
from qingquan.core.tests.compiled import compiled_selects
from qingquan.staff.backends import StaffBackend

pytestmark = pytest.mark.django_db


def _signed_in(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    assert client.session[BACKEND_SESSION_KEY] == "qingquan.staff.backends.StaffBackend"
    return client


def test_a_signed_in_request_reads_session_and_user_without_compiling(
    agent: Any, monkeypatch: Any
) -> None:
    client = _signed_in(agent)
    compiled = compiled_selects(monkeypatch)

    answer = client.get("/api/v1/me")

    assert answer.status_code == 200, answer.content
    assert answer.json()["username"] == agent.username
    assert "sessions.Session" not in compiled and "staff.User" not in compiled


def test_an_expired_session_is_no_session(agent: Any) -> None:
    client = _signed_in(agent)
    key = client.cookies["sessionid"].value
    assert client.get("/api/v1/me").status_code == 200
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    assert client.get("/api/v1/me").status_code in (401, 403)
    store = SessionStore(key)
    assert store.load() == {} and store.session_key is None


def test_the_backend_finds_active_staff_only(agent: Any, make_user: Any) -> None:
    backend = StaffBackend()
    gone = make_user("agent")
    gone.is_active = False
    gone.save()

    assert backend.get_user(agent.pk) == agent
    assert backend.get_user(str(agent.pk)) == agent  # as the session holds it
    assert backend.get_user(gone.pk) is None
    assert backend.get_user(10**9) is None
    assert backend.get_user("not-a-number") is None
