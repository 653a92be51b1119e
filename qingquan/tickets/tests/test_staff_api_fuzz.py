"""Schemathesis over the staff API (/api/v1/, every router): requests generated from the
published schema, sent with a supervisor's session and CSRF token, never get a 5xx.

Six examples per operation keep the run to under three hundred requests (well under a minute);
the partner API has its own run (partners/tests/test_openapi_fuzz.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from qingquan.api import api

SCHEMA = json.loads(json.dumps(api.get_openapi_schema(), default=str))
schema = schemathesis.openapi.from_dict(SCHEMA)
schema.app = WSGIHandler()
# Generated examples only, valid and invalid (out-of-range numbers, wrong types, strings
# over their limit): the coverage phase alone would send some 1,500 requests. The known
# boundaries (offsets past 2**63, lone surrogates, ...) have their own tests.
schema.config.phases.update(phases=["fuzzing"])
schema.config.generation.update(modes=list(GenerationMode))
CSRF = "qingquanfuzzcsrftoken0123456789a"  # 32 characters: a valid unmasked token


@pytest.fixture
def app(db: Any) -> Iterator[Any]:
    """The Django WSGI app, not closing the test's connection (its transaction holds the
    test data), as Django's test client does."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield schema.app
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def session(people: dict[str, Any], new_case: Any) -> dict[str, str]:
    """A supervisor's session cookie (and one case, so lookups by number can hit)."""
    new_case()
    client = Client()
    client.force_login(people["supervisor"])
    return {
        django_settings.SESSION_COOKIE_NAME: client.cookies[
            django_settings.SESSION_COOKIE_NAME
        ].value,
        django_settings.CSRF_COOKIE_NAME: CSRF,
    }


def test_the_fuzzed_schema_is_the_served_one(people: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["supervisor"])
    assert client.get("/api/v1/openapi.json").json() == SCHEMA


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_staff_api_never_answers_5xx(case: Any, app: Any, session: dict[str, str]) -> None:
    response = case.call(app=app, cookies=session, headers={"X-CSRFToken": CSRF})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
