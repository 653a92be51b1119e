"""bench/bench_notices.py's steps on the test city, tiny: they run and roll back."""

from __future__ import annotations

import pytest

from qingquan.messaging.models import Message
from qingquan.notices.models import Notice

pytestmark = pytest.mark.django_db


def test_the_bench_steps_run_and_leave_nothing(town):
    from bench import bench_notices

    elapsed, queueing, frozen = bench_notices._publish(3)
    assert frozen == 4  # the test city's one street holds 4 accounts
    assert elapsed > queueing > 0
    assert bench_notices._queue(50) > 0
    seconds = bench_notices._send_rate(20)
    assert seconds > 0
    assert Notice.objects.count() == 0 and Message.objects.count() == 0
