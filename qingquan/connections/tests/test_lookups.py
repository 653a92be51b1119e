"""A provincial application's id is checked through its unique index, not by reading
every application (the index is partial: the query has to state its condition)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qingquan.connections.services import intake
from qingquan.core.tests.plans import finds_by, lookups

pytestmark = pytest.mark.django_db


def test_the_external_ref_check_reads_the_unique_index() -> None:
    with CaptureQueriesContext(connection) as captured:
        intake._external_ref_check("ZLB-BZ-2026-0042")
    plans = lookups(captured, table="connections_application", column="external_ref")
    assert len(plans) == 1
    for sql, plan in plans:
        assert finds_by(plan, "external_ref"), (sql, plan)
