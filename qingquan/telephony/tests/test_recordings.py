"""Recording playback: who may listen, byte ranges for seeking, the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.staff.roles import Role
from qingquan.tickets.models import Channel
from qingquan.tickets.services import contact_record

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def recording(tmp_path: Path, settings: Any) -> Path:
    settings.TELEPHONY_RECORDING_DIR = tmp_path
    path = tmp_path / "call-1-seat.wav"
    path.write_bytes(b"RIFF" + bytes(range(256)) * 40)
    return path


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_only_the_right_roles_may_listen_and_each_listen_is_audited(
    recording: Path, make_user: Any
) -> None:
    agent = make_user(Role.AGENT)
    other = make_user(Role.AGENT)
    supervisor = make_user(Role.SUPERVISOR)
    crew = make_user(Role.CREW)
    contact = contact_record(
        actor=SYSTEM,
        channel=Channel.PHONE,
        started_at=T0,
        agent=agent,
        recording_ref=str(recording),
    )
    url = f"/telephony/recordings/{contact.pk}/"
    response = _client(agent).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert response.content == recording.read_bytes()
    assert _client(supervisor).get(url).status_code == 200
    assert _client(other).get(url).status_code == 404  # not their call
    assert _client(crew).get(url).status_code == 403
    assert Client().get(url).status_code == 302
    listens = AuditEvent.objects.filter(action="telephony.recording.listen")
    assert listens.count() == 2
    assert {e.actor_id for e in listens} == {agent.pk, supervisor.pk}
    download = _client(supervisor).get(url + "?download=1")
    assert "attachment" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action="telephony.recording.download").count() == 1


@pytest.mark.django_db
def test_byte_ranges_let_the_player_seek(recording: Path, supervisor: Any) -> None:
    contact = contact_record(
        actor=SYSTEM, channel=Channel.PHONE, started_at=T0, recording_ref=str(recording)
    )
    url = f"/telephony/recordings/{contact.pk}/"
    size = recording.stat().st_size
    response = _client(supervisor).get(url, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206 and len(response.content) == 100
    assert response["Content-Range"] == f"bytes 100-199/{size}"
    assert response.content == recording.read_bytes()[100:200]
    tail = _client(supervisor).get(url, HTTP_RANGE="bytes=-10")
    assert tail.content == recording.read_bytes()[-10:]
    assert _client(supervisor).get(url, HTTP_RANGE=f"bytes={size + 5}-").status_code == 416
    # Seeking is not a new listen.
    assert AuditEvent.objects.filter(action="telephony.recording.listen").count() == 0


@pytest.mark.django_db
def test_only_files_in_the_recordings_folder_are_served(
    recording: Path, supervisor: Any, tmp_path: Path
) -> None:
    for ref in ("/etc/passwd", "../../etc/passwd", "line1:sip-1", "missing.wav"):
        contact = contact_record(
            actor=SYSTEM, channel=Channel.PHONE, started_at=T0, recording_ref=ref
        )
        assert _client(supervisor).get(f"/telephony/recordings/{contact.pk}/").status_code == 404
