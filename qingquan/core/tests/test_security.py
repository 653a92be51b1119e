"""Response headers (#13 item 6): every answer carries the Content-Security-Policy and the
headers of Django's deployment checklist; the page scan used over every URL pattern
(core.exposure.script_problems) finds what the policy would block; browsers' reports of
blocked content are logged."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from qingquan.core.exposure import script_problems
from qingquan.core.security import content_security_policy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/login/", "/", "/api/v1/me", "/open311/v2/services.json"])
def test_every_answer_carries_the_headers(path: str) -> None:
    response = Client().get(path)
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "wss://testserver" in directives["connect-src"]
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_login_page_holds_no_inline_script() -> None:
    response = Client().get("/login/")
    assert script_problems(response, response.content.decode()) == []
    assert "data-autosubmit" in response.content.decode()


def _html(body: str, policy: str | None = "script-src 'self'") -> HttpResponse:
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    if policy is not None:
        response["Content-Security-Policy"] = policy
    return response


@pytest.mark.parametrize(
    ("body", "policy", "found"),
    [
        ("<p>ok</p><script src='/static/a.js'></script>", "script-src 'self'", None),
        ('<script type="application/json" id="d">{"a": 1}</script>', "script-src 'self'", None),
        ("<p>no policy</p>", None, "policy"),
        ("<p>x</p>", "script-src 'self' 'unsafe-inline'", "policy"),
        ("<script>alert(1)</script>", "script-src 'self'", "inline script"),
        ('<select onchange="this.form.submit()">', "script-src 'self'", "inline handler"),
        ('<a href="javascript:go()">go</a>', "script-src 'self'", "inline handler"),
        ("<p>the onion=fresh in text is not a tag</p>", "script-src 'self'", None),
    ],
)
def test_the_scan_finds_what_the_policy_would_block(
    body: str, policy: str | None, found: str | None
) -> None:
    response = _html(body, policy)
    problems = script_problems(response, body)
    if found is None:
        assert problems == []
    else:
        assert problems and problems[0].startswith(found)


def test_json_answers_are_not_scanned() -> None:
    response = HttpResponse('{"a": "<script>x</script>"}', content_type="application/json")
    assert script_problems(response, response.content.decode()) == []


def test_policy_reports_are_logged(caplog: Any) -> None:
    report = {
        "csp-report": {
            "document-uri": "http://127.0.0.1:8000/console/",
            "blocked-uri": "inline",
            "violated-directive": "script-src-elem",
        }
    }
    client = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.WARNING, logger="qingquan.security"):
        response = client.post(
            "/csp-report/", json.dumps(report), content_type="application/csp-report"
        )
    assert response.status_code == 204
    assert "blocked inline on http://127.0.0.1:8000/console/" in caplog.text
    assert client.post("/csp-report/", "not json", content_type="text/plain").status_code == 400
    assert client.get("/csp-report/").status_code == 405


def test_a_forged_host_gets_a_400_with_a_policy() -> None:
    response = Client().get("/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_policy_names_the_request_host() -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/", HTTP_HOST="127.0.0.1:8000")
    assert "wss://127.0.0.1:8000" in content_security_policy(request)
