"""Partner actions are audited as the partner client (#13 item 3: explicit actors)."""

from __future__ import annotations

import pytest

from qingquan.core.access import AccessDenied
from qingquan.core.actors import PartnerActor
from qingquan.core.models import AuditEvent
from qingquan.partners.models import PartnerCase
from qingquan.partners.tests.test_api import CASE, assert_error, post
from qingquan.tickets import services as ticket_services
from qingquan.tickets.errors import NotAllowed

pytestmark = pytest.mark.django_db


def test_partner_intake_is_audited_as_the_partner_client(partner, api):
    client, _key = partner
    assert post(api, "/cases", CASE).status_code == 201
    case = PartnerCase.objects.get()
    rows = AuditEvent.objects.filter(
        action__in=["partners.case_create", "ticket.create", "contact.record"]
    )
    assert rows.count() == 3
    for row in rows:
        assert (row.actor_kind, row.actor_ref, row.actor) == ("partner", client.name, None)
    assert case.ticket.events.get(action="create").actor is None


def test_partner_client_takes_only_partner_steps(partner, api):
    client, _key = partner
    post(api, "/cases", CASE)
    ticket = PartnerCase.objects.get().ticket
    with pytest.raises(NotAllowed) as refused:
        ticket_services.ticket_resolve(
            actor=PartnerActor(client), ticket=ticket, version=None, resolution="done"
        )
    assert isinstance(refused.value, AccessDenied)


def test_partner_api_answers_the_one_access_error_in_its_own_body(make_client):
    from django.test import Client

    _client, key = make_client("reader", scopes=["cases:read"])
    body = assert_error(
        post(Client(HTTP_AUTHORIZATION=f"Bearer {key}"), "/cases", CASE), 403, "forbidden"
    )
    assert "cases:write" in body["error"]["message"]
