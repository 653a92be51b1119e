"""`notices:told` ("已告知停水") links only the agent's own call and a customer the agent
may see: another agent's call, an unknown call or customer id is a 404 and links nothing."""

from __future__ import annotations

import pytest

from qingquan.console.tests.conftest import answer_call
from qingquan.notices import services
from qingquan.notices.models import NoticeCall
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


def _published(draft, supervisor):
    services.notice_submit(actor=supervisor, notice=draft)
    services.notice_approve(actor=supervisor, notice=draft)
    return draft


def test_told_refuses_another_agents_call(town, supervisor, draft, make_user, pbx, client):
    _published(draft, supervisor)
    mine = make_user(Role.AGENT, extension="8201")
    theirs = make_user(Role.AGENT, extension="8202")
    their_call = answer_call(pbx, theirs, "13900000002")
    my_call = answer_call(pbx, mine, "13900000003")
    client.force_login(mine)
    url = f"/notices/{draft.pk}/told/"
    refused = client.post(url, {"call": their_call.pk}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 404
    assert not NoticeCall.objects.filter(contact=their_call.contact).exists()
    assert client.post(url, {"call": 999999}, HTTP_HX_REQUEST="true").status_code == 404
    draft.refresh_from_db()
    assert draft.calls == 0
    ok = client.post(url, {"call": my_call.pk}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    assert NoticeCall.objects.get().contact == my_call.contact


def test_told_refuses_a_customer_the_agent_cannot_name(town, supervisor, draft, make_user, client):
    _published(draft, supervisor)
    client.force_login(make_user(Role.AGENT))
    url = f"/notices/{draft.pk}/told/"
    assert client.post(url, {"customer": 987654}, HTTP_HX_REQUEST="true").status_code == 404
    assert client.post(url, {"customer": "x"}, HTTP_HX_REQUEST="true").status_code == 404
    assert not NoticeCall.objects.exists()
    wang = town["wang"]
    ok = client.post(url, {"customer": wang.pk}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    assert NoticeCall.objects.get().contact.customer_id == wang.pk
