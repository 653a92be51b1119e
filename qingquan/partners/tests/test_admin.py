"""Back office: an administrator registers a partner client and sees its key once."""

from __future__ import annotations

import re

import pytest

from qingquan.partners import services
from qingquan.partners.models import ApiKey, PartnerClient, Subscription
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

ADD = "/admin/partners/partnerclient/add/"


def form(inbox, **extra):
    data = {
        "code": "zlb",
        "name": "浙里办",
        "channel": "provincial",
        "scopes": ["cases:read", "cases:write", "open311"],
        "intake_owner": str(inbox.pk),
        "rate_limit_per_minute": "60",
        "is_active": "on",
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
        "keys-MIN_NUM_FORMS": "0",
        "keys-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


def test_administrator_creates_a_client_and_sees_the_key_once(client, administrator, inbox):
    client.force_login(administrator)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, form(inbox), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    keys = re.findall(r"qq_[0-9a-f]{8}_[A-Za-z0-9_\-]+", page)
    assert len(set(keys)) == 1
    plaintext = keys[0]
    created = PartnerClient.objects.get(code="zlb")
    assert created.scopes == ["cases:read", "cases:write", "open311"]
    assert created.intake_owner == inbox
    key = ApiKey.objects.get(client=created)
    assert services.authenticate(plaintext) == key
    # Never shown again: not on the client's page, not in the key list.
    again = client.get(f"/admin/partners/partnerclient/{created.pk}/change/").content.decode()
    assert plaintext not in again and key.prefix in again
    assert plaintext not in client.get("/admin/partners/apikey/").content.decode()


def test_inbox_owner_who_cannot_own_cases_is_a_form_error(client, administrator, make_user):
    client.force_login(administrator)
    crew = make_user(Role.CREW)
    response = client.post(ADD, form(crew))
    assert response.status_code == 200
    assert not PartnerClient.objects.exists()
    assert "errornote" in response.content.decode()


def test_revoke_and_issue_keys_with_actions(client, administrator, partner):
    partner_client, plaintext = partner
    client.force_login(administrator)
    key = ApiKey.objects.get(client=partner_client)
    client.post(
        "/admin/partners/apikey/",
        {"action": "revoke", "_selected_action": [str(key.pk)]},
        follow=True,
    )
    assert services.authenticate(plaintext) is None
    response = client.post(
        "/admin/partners/partnerclient/",
        {"action": "issue_key", "_selected_action": [str(partner_client.pk)]},
        follow=True,
    )
    [new_key] = re.findall(r"qq_[0-9a-f]{8}_[A-Za-z0-9_\-]+", response.content.decode())
    assert services.authenticate(new_key).client == partner_client


def test_subscription_gets_a_generated_secret(client, administrator, partner):
    client.force_login(administrator)
    response = client.post(
        "/admin/partners/subscription/add/",
        {
            "client": str(partner[0].pk),
            "url": "https://partner.example.com/hooks",
            "events": ["case.created", "case.resolved"],
            "secret": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    subscription = Subscription.objects.get()
    assert len(subscription.secret) >= 32
    assert subscription.events == ["case.created", "case.resolved"]


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.BACK_OFFICE])
def test_only_administrators_manage_partners(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(ADD).status_code in (302, 403)
    assert client.get("/admin/partners/delivery/").status_code in (302, 403)


def test_delivery_log_is_read_only(client, administrator):
    client.force_login(administrator)
    assert client.get("/admin/partners/delivery/").status_code == 200
    assert client.get("/admin/partners/delivery/add/").status_code == 403


def test_administrator_edits_a_client_through_the_service(client, administrator, partner, inbox):
    from qingquan.core.models import AuditEvent

    partner_client, _plaintext = partner
    key = ApiKey.objects.get(client=partner_client)
    client.force_login(administrator)
    data = form(
        inbox,
        name="浙里办（新）",
        rate_limit_per_minute="5",
        **{"keys-TOTAL_FORMS": "1", "keys-INITIAL_FORMS": "1", "keys-0-id": str(key.pk)},
    )
    data["keys-0-client"] = str(partner_client.pk)
    url = f"/admin/partners/partnerclient/{partner_client.pk}/change/"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    partner_client.refresh_from_db()
    assert partner_client.name == "浙里办（新）" and partner_client.rate_limit_per_minute == 5
    assert partner_client.code == "zlb"  # the code never changes
    assert AuditEvent.objects.filter(action="partners.client_update").exists()
