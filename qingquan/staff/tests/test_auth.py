"""Login, logout, password change and lockout (server side)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.staff.roles import Role
from qingquan.staff.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def post_login(client: Client, username: str, password: str, lang: str = "zh-hans"):
    client.cookies["django_language"] = lang  # the language switch's choice
    return client.post("/login/", {"username": username, "password": password})


def test_passwords_are_hashed_with_argon2(settings):
    from django.conf import settings as live_settings

    from qingquan.staff.tests.factories import make_user

    # The suite swaps in a fast hasher; the platform's own setting puts Argon2 first.
    settings.PASSWORD_HASHERS = [h for h in live_settings.PASSWORD_HASHERS if "MD5" not in h]
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = make_user()
    assert identify_hasher(user.password).algorithm == "argon2"


def test_login_then_home_then_logout(agent):
    client = Client()
    response = post_login(client, agent.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert agent.full_name in home.content.decode()
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_explained_in_chinese_and_english(agent):
    zh = post_login(Client(), agent.username, "wrong", "zh-hans").content.decode()
    assert "请输入一个正确的" in zh
    en = post_login(Client(), agent.username, "wrong", "en").content.decode()
    assert "Please enter a correct" in en


def test_lockout_after_five_failures_locks_the_account_not_the_room(make_user):
    victim = make_user(Role.AGENT)
    colleague = make_user(Role.AGENT)
    for _ in range(4):
        assert post_login(Client(), victim.username, "nope").status_code == 200
    # The fifth failure locks the account; then even the right password is refused.
    assert post_login(Client(), victim.username, "nope").status_code == 429
    locked = post_login(Client(), victim.username, PASSWORD)
    assert locked.status_code == 429
    assert "账号已锁定" in locked.content.decode()
    # Same workstation address, different account: still works.
    assert post_login(Client(), colleague.username, PASSWORD).status_code == 302


def test_lockout_lifts_after_cool_off(make_user, settings):
    import time_machine

    victim = make_user(Role.AGENT)
    with time_machine.travel("2026-11-28 10:00 +0800", tick=False):
        for _ in range(5):
            post_login(Client(), victim.username, "nope")
        assert post_login(Client(), victim.username, PASSWORD).status_code == 429
    with time_machine.travel("2026-11-28 10:16 +0800", tick=False):
        assert post_login(Client(), victim.username, PASSWORD).status_code == 302


def test_password_change_is_validated_and_audited(agent):
    client = Client()
    client.force_login(agent)
    weak = client.post(
        "/password/",
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert weak.status_code == 200
    # The form comes back with each validator's refusal (not just the page's labels,
    # which say 密码 whatever happened), and the password is unchanged.
    alerts = re.findall(r'<div class="error" role="alert">(.*?)</div>', weak.content.decode())
    assert len(alerts) == 3, alerts
    assert "这个密码太常见了。" in alerts and "密码只包含数字。" in alerts
    assert "密码太短，至少需要 8 个字符。" in alerts  # Django's own catalogue lacks it
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)
    new = "a-much-better-secret-2026"
    ok = client.post(
        "/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert ok.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password(new)
    event = AuditEvent.objects.get(action="staff.password_change")
    assert event.object_id == str(agent.pk)
    assert event.before is None and event.after is None  # never the hash
    # The session survives the change.
    assert client.get("/").status_code == 200


def test_english_ui_is_complete_on_the_home_page(agent):
    client = Client()
    client.force_login(agent)
    client.cookies["django_language"] = "en"
    html = client.get("/").content.decode()
    assert "Hello," in html and "Log out" in html
    client.cookies["django_language"] = "zh-hans"
    html_zh = client.get("/").content.decode()
    assert "您好" in html_zh and "退出登录" in html_zh and "话务员" in html_zh


def test_chinese_is_the_default_whatever_the_browser_asks(agent):
    client = Client()
    client.force_login(agent)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "您好" in html and 'lang="zh-hans"' in html
    # The switch is remembered and then wins over the default.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Hello," in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    # Machine interfaces keep HTTP's negotiation.
    machine = Client()
    machine.force_login(agent)
    assert machine.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en").json()["role_label"] == "Agent"
    assert machine.get("/api/v1/me").json()["role_label"] == "话务员"


def test_language_switch_sticks(agent):
    client = Client()
    client.force_login(agent)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Log out" in client.get("/").content.decode()
