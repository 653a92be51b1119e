"""The OpenAPI schemas (the staff API's and the partner API's) are built once per process
and language (they change only with the code; building one took seconds, which the docs
pages and every client that reads the schema waited for)."""

from __future__ import annotations

from typing import Any

import ninja.main
import pytest
from django.test import Client

from qingquan.api import api
from qingquan.partners.api import partner_api


def _counting_builds(monkeypatch: Any) -> list[str]:
    built: list[str] = []
    real = ninja.main.get_schema

    def counting(**kwargs: Any) -> Any:
        built.append(kwargs["path_prefix"])
        return real(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counting)
    return built


@pytest.mark.django_db
def test_the_staff_schema_is_built_once_per_language(supervisor: Any, monkeypatch: Any) -> None:
    built = _counting_builds(monkeypatch)
    api.forget_schemas()
    client = Client()
    client.force_login(supervisor)

    client.cookies["django_language"] = "en"
    english = [client.get("/api/v1/openapi.json") for _ in "ab"]
    client.cookies["django_language"] = "zh-hans"
    chinese = [client.get("/api/v1/openapi.json") for _ in "ab"]

    assert [r.status_code for r in english + chinese] == [200] * 4
    assert len(built) == 2
    assert english[0].content == english[1].content
    assert chinese[0].content == chinese[1].content
    text = chinese[1].json()["components"]["schemas"]["ClockOut"]["properties"]
    assert "剩余" in text["remaining_text"]["description"]


@pytest.mark.django_db
def test_the_partner_schema_is_built_once(monkeypatch: Any) -> None:
    built = _counting_builds(monkeypatch)
    partner_api.forget_schemas()
    client = Client()

    answers = [client.get("/api/partner/v1/openapi.json") for _ in "abc"]

    assert [r.status_code for r in answers] == [200] * 3
    assert len(built) == 1
    assert answers[0].content == answers[2].content
    assert "/api/partner/v1/cases" in answers[0].json()["paths"]
