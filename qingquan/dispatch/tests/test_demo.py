"""The demo loader brings the six crews and a few jobs on the board."""

from __future__ import annotations

import pytest

from qingquan.dispatch.models import Crew, Job

pytestmark = pytest.mark.django_db


def test_the_demo_has_crews_and_jobs() -> None:
    from qingquan.core.demo import demo_seed

    demo_seed()
    assert Crew.objects.count() == 6
    assert all(c.skills and c.vehicle for c in Crew.objects.all())
    assert Job.objects.count() >= 2
    assert (
        Job.objects.filter(state="en_route").exists()
        or Job.objects.filter(state="assigned").exists()
    )
