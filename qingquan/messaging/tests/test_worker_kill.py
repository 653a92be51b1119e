"""A worker process killed with SIGKILL in the middle of a mass send: another worker takes
its messages over after the lease, asks the gateway about those in doubt, and the fake
gateway receives each recipient's message exactly once."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
import time_machine

from qingquan.core import clock, outbox
from qingquan.messaging.models import Message, MessageStatus
from qingquan.messaging.services import Outgoing, messages_queue

N = 60


def _database_url() -> str:
    from django.db import connection

    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return (
        f"postgres://{conf['USER']}{password}@{conf['HOST'] or '127.0.0.1'}:"
        f"{conf['PORT'] or 5432}/{conf['NAME']}"
    )


@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_send_each_recipient_gets_exactly_one_message(gateway, tmp_path):
    gateway.delay = 0.05  # each send takes a while: the worker dies in the middle of a group
    messages_queue(
        source="notice_version",
        source_id=1,
        urgent=True,
        messages=[
            Outgoing(channel="sms", to=f"+86139{i:08d}", template="notice_published", body="停水")
            for i in range(N)
        ],
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QINGQUAN_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "qingquan.settings",
        "QINGQUAN_SMS_ENDPOINT": f"{gateway.url}/sms/",
        "QINGQUAN_SMS_RATE": "0",
    }
    log = (tmp_path / "worker.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "qingquan.cli", "worker"], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(gateway.received) < 5:
            assert process.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.02)
        else:
            if len(gateway.received) < 5:
                pytest.fail("the worker never sent: " + (tmp_path / "worker.log").read_text())
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        process.wait(10)
        log.close()
    time.sleep(0.5)  # a send in flight when it died still reaches the gateway
    before = len(gateway.received)
    assert 0 < before < N
    doubt = Message.objects.filter(in_doubt=True, status=MessageStatus.SENDING).count()
    assert doubt > 0  # the killed worker's group: handed over, answers never recorded
    # Within the lease nobody touches them; after it a second worker takes over.
    assert outbox.dispatch_once(worker="second") == 0
    with time_machine.travel(clock.now() + outbox.LEASE + dt.timedelta(seconds=5)):
        while outbox.dispatch_once(worker="second"):
            pass
    counts = gateway.count_by_out_id()
    ids = {str(m) for m in Message.objects.values_list("message_id", flat=True)}
    assert set(counts) == ids and set(counts.values()) == {1}
    assert Message.objects.filter(status=MessageStatus.SENT).count() == N
