"""In headless Chromium: each role logs in to the Chinese UI and sees its home page; a wrong
password shows an error; five failures lock the account."""

from __future__ import annotations

import pytest

from qingquan.staff.roles import Role
from qingquan.staff.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLE_ZH = {
    Role.AGENT: "话务员",
    Role.SUPERVISOR: "班长",
    Role.DISPATCHER: "调度员",
    Role.CREW: "抢修人员",
    Role.BACK_OFFICE: "业务部门",
    Role.CUSTOMER_MANAGER: "客服经理",
    Role.ADMINISTRATOR: "系统管理员",
}


def test_every_role_logs_in_and_sees_its_home_page(page, login, make_user):
    for role, label in ROLE_ZH.items():
        user = make_user(role)
        login(user.username)
        home = page.get_by_test_id("home")
        assert home.get_attribute("data-role") == role.value
        assert page.get_by_test_id("role").inner_text() == label
        assert user.full_name in page.get_by_role("heading", level=1).inner_text()
        assert "退出登录" in page.content()
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url("**/login/")


def test_supervisor_navigates_to_the_roster(page, login, supervisor):
    login(supervisor.username)
    page.get_by_role("link", name="排班表").first.click()
    page.wait_for_url("**/roster/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("排班表")


def test_wrong_password_shows_an_error(page, login, agent):
    login(agent.username, "not-my-password")
    error = page.get_by_test_id("login-error")
    assert "请输入一个正确的" in error.inner_text()
    assert page.url.endswith("/login/")


def test_lockout_after_repeated_failures(page, login, agent):
    for _ in range(5):
        login(agent.username, "not-my-password")
    login(agent.username, PASSWORD)  # even the right password is refused now
    assert "已锁定" in page.get_by_test_id("locked-out").inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "账号已锁定"


def test_chinese_first_for_an_english_browser_until_the_user_switches(browser, live_server, agent):
    context = browser.new_context(locale="en-US", base_url=live_server.url)
    page = context.new_page()
    page.goto("/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("input[name=username]", agent.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.get_by_test_id("role").inner_text() == "话务员"
    # The user switches to English; the choice is remembered on the next visit.
    with page.expect_navigation():
        page.select_option("form.lang select", "en")
    assert page.get_by_test_id("role").inner_text() == "Agent"
    page.goto("/")
    assert page.get_by_role("button", name="Log out").is_visible()
    context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_navigation_fits_one_line_at_1366_for_every_role(
    browser, live_server, make_user, language
):
    context = browser.new_context(
        locale="zh-CN", base_url=live_server.url, viewport={"width": 1366, "height": 768}
    )
    page = context.new_page()
    for role in Role:
        user = make_user(role)
        context.clear_cookies()
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("nav.mainnav")
        bar = page.locator("header.topbar").bounding_box()
        assert bar["height"] <= 56, f"{role} ({language}): the bar is {bar['height']} px tall"
        tops = page.locator("nav.mainnav > *").evaluate_all(
            "items => items.map(i => Math.round(i.getBoundingClientRect().top))"
        )
        assert max(tops) - min(tops) <= 4, f"{role} ({language}): several lines {tops}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"{role} ({language}): the page scrolls sideways ({width} px)"
        # Each menu opens and lists its links.
        for group in page.locator("details.navgroup").all():
            group.locator("summary").click()
            assert group.locator(".navmenu a").first.is_visible()
        page.keyboard.press("Escape")
    context.close()
