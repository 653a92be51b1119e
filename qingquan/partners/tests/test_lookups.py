"""The intake's look-up of a partner's external id reads the unique index, not every case
of the client (it grew with the table: 6 ms at 38,000 cases on SQLite, issue #12)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from qingquan.core.tests.plans import finds_by, lookups

pytestmark = pytest.mark.django_db


def test_the_external_id_is_found_through_its_index(api: Client) -> None:
    case = {"kind": "repair-leak", "subject": "小区门口漏水", "external_id": "ext-index-1"}
    with CaptureQueriesContext(connection) as captured:
        answer = api.post(
            "/api/partner/v1/cases",
            case,
            content_type="application/json",
            headers={"Idempotency-Key": "lookup-1"},
        )
    assert answer.status_code == 201, answer.content
    plans = lookups(captured, table="partners_partnercase", column="external_id")
    assert plans, "the intake looks the external id up"
    for sql, plan in plans:
        assert finds_by(plan, "external_id"), (sql, plan)
