"""In headless Chromium, the staff screens of a real-estate project (R-CON-6): the
customer manager records the developer's documented ready date with its evidence and
document, accepts and names the engineer; the engineer designs, enters construction
(the clock stops, on time) and records each milestone, a milestone without a note being
refused with a message; the manager records acceptance and handover."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.connections import services
from qingquan.connections.models import Application, AppState, RealEstateProject
from qingquan.core import clock

from .conftest import PDF
from .test_browser import relogin, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit_step(page: Any, note: str) -> None:
    form = page.get_by_test_id("step-form")
    form.locator("input[name=note]").fill(note)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_real_estate_ready_date_and_milestones_to_handover(
    page: Any, login: Any, people: Any, apply: Any
) -> None:
    page.set_default_timeout(90_000)  # a loaded test machine
    app = apply(
        use="real_estate",
        pipe_mm=200,
        m3_per_day="400",
        project=services.ProjectInput(name="甬江悦府", households=480),
    )
    login(people["manager"].username)
    page.goto(f"/connections/{app.number}/")
    assert "甬江悦府" in page.get_by_test_id("project").inner_text()
    today = clock.today().isoformat()
    ready = page.get_by_test_id("ready-form")
    ready.locator("input[name=ready_on]").fill(today)
    ready.locator("input[name=evidence]").fill("场地移交单 No. 118")
    ready.locator("input[name=document]").set_input_files(
        files=[{"name": "ready.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    shot(page, "real-estate-ready-zh")
    with page.expect_navigation():
        ready.locator("button[type=submit]").click()
    assert today in page.get_by_test_id("ready").inner_text()
    assert RealEstateProject.objects.get(application=app).ready_document
    page.get_by_test_id("step-form").locator("select[name=engineer]").select_option(
        str(people["engineer"].pk)
    )
    submit_step(page, "受理")

    relogin(page, login, people["engineer"])
    page.goto(f"/connections/{app.number}/")
    submit_step(page, "图纸会审通过")
    submit_step(page, "施工队进场")
    page.get_by_test_id("entry").wait_for()
    assert Application.objects.get(pk=app.pk).on_time
    # A milestone needs what was done: refused, with a message, nothing changes.
    step = Application.objects.get(pk=app.pk).step
    submit_step(page, "")
    assert page.locator(".messages .error").count() == 1
    assert Application.objects.get(pk=app.pk).step == step
    milestones = ("管网敷设完成", "试压合格，冲洗消毒完成", "水质检测报告 SZ-0091", "水表已安装")
    for note in milestones:
        submit_step(page, note)
    shot(page, "real-estate-milestones-zh")
    assert "管网敷设完成" in page.get_by_test_id("steps").inner_text()

    relogin(page, login, people["manager"])
    page.goto(f"/connections/{app.number}/")
    submit_step(page, "竣工验收通过")
    submit_step(page, "移交接管")
    app.refresh_from_db()
    assert app.state == AppState.WATER_ON and app.clock_done_at is not None
    assert page.get_by_test_id("step-form").count() == 0
    shot(page, "real-estate-handover-zh")
