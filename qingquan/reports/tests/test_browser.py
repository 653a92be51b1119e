"""A supervisor drills from a figure to the cases behind it, and downloads the Excel
file whose figures match the page."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.surveys import services as surveys
from qingquan.surveys.models import CallbackTask
from qingquan.tickets import services


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_supervisor_drills_down_and_downloads_excel(
    page: Any, login: Any, people: Any, new_case: Any, tmp_path: Any
) -> None:
    from openpyxl import load_workbook

    agent = people["agent"]
    phone = [new_case("consultation", channel="phone") for _ in range(3)]
    new_case("consultation", channel="wechat")
    for case in phone[:2]:
        services.ticket_resolve(actor=agent, ticket=case, version=case.version, resolution="已答复")
    first = CallbackTask.objects.get(ticket=phone[0])
    surveys.callback_attempt_record(
        actor=agent, task=first, version=first.version, outcome="satisfied"
    )
    second = CallbackTask.objects.get(ticket=phone[1])
    for _ in range(3):
        second.refresh_from_db()
        surveys.callback_attempt_record(
            actor=agent, task=second, version=second.version, outcome="unreachable"
        )

    login(people["supervisor"].username)
    page.click("details.navgroup:has(a[href='/reports/']) > summary")  # the 管理 menu
    page.click("nav.mainnav a[href='/reports/']")
    page.select_option("select[name=by]", "channel")
    page.click("[data-testid=report-form] button[type=submit]")
    page.wait_for_selector("[data-testid=breakdown]")
    page.wait_for_selector("#kpi-chart[data-ready='1']")
    overall = page.locator("[data-testid=overall]")
    created = overall.locator("a[data-metric=created]").inner_text()
    done = overall.locator("a[data-metric=done]").inner_text()
    unreachable = overall.locator("a[data-metric=cb_unreachable]").inner_text()
    assert (created, done, unreachable) == ("4", "2", "1")
    closure_text = overall.locator("[data-figure=closure_rate]").inner_text()
    assert closure_text.startswith("50.00%")

    # Drill from the phone row's "created" figure to the cases behind it.
    cell = page.locator("[data-testid=breakdown] tr[data-key=phone] a[data-metric=created]")
    assert cell.inner_text() == "3"
    cell.click()
    page.wait_for_selector("[data-testid=drill-rows]")
    assert page.locator("[data-testid=drill-count]").inner_text() == "3"
    listed = page.locator("[data-testid=drill-rows] tbody tr").count()
    assert listed == 3
    text = page.locator("[data-testid=drill-rows]").inner_text()
    assert all(case.number in text for case in phone)
    page.go_back()
    page.wait_for_selector("[data-testid=breakdown]")

    # The unreachable callback is one click away too.
    page.locator("[data-testid=overall] a[data-metric=cb_unreachable]").click()
    page.wait_for_selector("[data-testid=drill-rows]")
    assert phone[1].number in page.locator("[data-testid=drill-rows]").inner_text()
    page.go_back()
    page.wait_for_selector("[data-testid=breakdown]")

    with page.expect_download() as info:
        page.click("[data-testid=excel]")
    path = tmp_path / "kpis.xlsx"
    info.value.save_as(path)
    sheet = load_workbook(path).worksheets[0]
    row = [c.value for c in sheet[4]]
    assert row[2] == int(created) and row[3] == int(done)
    assert row[4] == pytest.approx(0.5)
    assert row[12] == int(unreachable)  # after the "late" column
    by_label = {r[0].value: r for r in sheet.iter_rows(min_row=5)}
    assert len(by_label) == 2
    phone_row = next(r for r in by_label.values() if r[2].value == 3)
    assert phone_row[1].value == 3  # contacts by phone
