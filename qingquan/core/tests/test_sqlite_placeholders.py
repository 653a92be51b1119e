"""On SQLite a statement's placeholders are converted once per statement text, not at
every execution (issue #12), with Django's meaning: %s is a parameter, %% a percent sign,
and named parameters still work."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from qingquan.core.db.sqlite3 import base as queued
from qingquan.staff.models import User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's placeholders"),
]


class CountingPattern:
    """Django's placeholder pattern, counting its uses."""

    def __init__(self, pattern: Any) -> None:
        self.pattern, self.uses = pattern, 0

    def sub(self, replacement: str, text: str) -> str:
        self.uses += 1
        return self.pattern.sub(replacement, text)


def test_a_statement_is_converted_once_however_often_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pattern = CountingPattern(queued.base.FORMAT_QMARK_REGEX)
    monkeypatch.setattr(queued.base, "FORMAT_QMARK_REGEX", pattern)
    monkeypatch.setattr(queued, "_qmark", {})
    with connection.cursor() as cursor:
        for n in range(3):
            cursor.execute("SELECT %s + 1, 'a%%b'", [n])
            assert cursor.fetchone() == (n + 1, "a%b")
    assert pattern.uses == 1


def test_named_parameters_and_statements_without_parameters_still_run() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %(a)s * 2", {"a": 21})
        assert cursor.fetchone() == (42,)
        cursor.execute("SELECT 'no parameters'")
        assert cursor.fetchone() == ("no parameters",)


def test_the_orm_finds_a_literal_percent_sign() -> None:
    User.objects.create_user(username="a%b", password="x")
    User.objects.create_user(username="ab", password="x")
    assert list(User.objects.filter(username__contains="%").values_list("username", flat=True)) == [
        "a%b"
    ]


def test_the_kept_texts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queued, "_qmark", {})
    monkeypatch.setattr(queued, "_QMARK_KEPT", 3)
    for n in range(10):
        assert queued.qmark(f"SELECT %s, {n}") == f"SELECT ?, {n}"
    assert len(queued._qmark) <= 3
