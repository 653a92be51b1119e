"""The API docs and the favicon work offline: nothing is loaded from a CDN."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("docs", ["/api/v1/docs", "/api/partner/v1/docs"])
def test_swagger_ui_is_served_from_our_own_static_files(administrator: Any, docs: str) -> None:
    client = Client()
    client.force_login(administrator)
    html = client.get(docs).content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"):
        assert f"/static/{asset}" in html
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        assert len(body) > 1000


def test_every_page_names_the_favicon_and_browsers_asking_for_the_ico_find_it(
    administrator: Any,
) -> None:
    client = Client()
    client.force_login(administrator)
    assert 'rel="icon" href="/static/qingquan/favicon.svg"' in client.get("/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/qingquan/favicon.svg"
    icon = client.get("/static/qingquan/favicon.svg")
    assert icon.status_code == 200
