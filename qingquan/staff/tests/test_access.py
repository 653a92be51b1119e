"""The permission matrix of the staff pages and a sample of admin screens: every role
against each URL in `MATRIX` (200 for the roles listed, 403 or the admin's login for the
others). Other apps test their own pages' roles; every URL pattern is requested as every
role by core/tests/test_exposure.py and every admin changelist by
core/tests/test_access_path.py."""

from __future__ import annotations

import pytest
from django.test import Client

from qingquan.staff.access import CAPABILITIES, can, navigation_for
from qingquan.staff.roles import Role

R = Role
EVERYONE = set(Role)

# url → roles that get 200; everyone else gets 403 (logged in) or a login redirect.
MATRIX: dict[str, set[Role]] = {
    "/": EVERYONE,
    "/password/": EVERYONE,
    "/notifications/": EVERYONE,
    "/roster/": {R.SUPERVISOR, R.DISPATCHER, R.ADMINISTRATOR},
    "/audit/": {R.ADMINISTRATOR},
    "/api/v1/me": EVERYONE,
    "/admin/": {R.SUPERVISOR, R.DISPATCHER, R.BACK_OFFICE, R.CUSTOMER_MANAGER, R.ADMINISTRATOR},
    "/admin/core/auditevent/": {R.ADMINISTRATOR},
    "/admin/staff/user/": {R.SUPERVISOR, R.ADMINISTRATOR},
    "/admin/staff/user/add/": {R.ADMINISTRATOR},
    "/admin/staff/shiftassignment/": {R.SUPERVISOR, R.DISPATCHER, R.ADMINISTRATOR},
    "/admin/core/calendarday/": {
        R.SUPERVISOR,
        R.DISPATCHER,
        R.BACK_OFFICE,
        R.CUSTOMER_MANAGER,
        R.ADMINISTRATOR,
    },
    "/admin/core/calendarday/add/": {R.ADMINISTRATOR},
    "/admin/areas/district/": {
        R.SUPERVISOR,
        R.DISPATCHER,
        R.BACK_OFFICE,
        R.CUSTOMER_MANAGER,
        R.ADMINISTRATOR,
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("url", list(MATRIX))
def test_role_matrix(make_user, role, url):
    user = make_user(role)
    client = Client()
    client.force_login(user)
    response = client.get(url)
    if role in MATRIX[url]:
        assert response.status_code == 200, (role, url, response.status_code)
    elif url.startswith("/admin/") and role not in CAPABILITIES["admin.site"]:
        # The admin site sends people without access to its own login page.
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    else:
        assert response.status_code == 403, (role, url, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("url", [u for u in MATRIX if not u.startswith("/admin/")])
def test_anonymous_is_sent_to_login(url):
    response = Client().get(url)
    if url.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_inactive_staff_hold_no_capability(make_user):
    user = make_user(Role.ADMINISTRATOR)
    user.is_active = False
    assert not any(can(user, name) for name in CAPABILITIES)


def test_unknown_capability_is_a_programming_error():
    with pytest.raises(KeyError):
        can(None, "no.such.capability")


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_navigation_only_offers_allowed_pages(make_user, role):
    user = make_user(role)
    client = Client()
    client.force_login(user)
    for item in navigation_for(user):
        from django.urls import reverse

        assert client.get(reverse(item.url_name)).status_code == 200, item.url_name
