"""Recording playback: who may listen, byte ranges for seeking, the audit log."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.staff.roles import Role
from qingquan.telephony import recordings
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


# ---------------------------------------------------------------------------
# Compression and retention
# ---------------------------------------------------------------------------

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def _tone(path: Path, seconds: int, frequency: str) -> Path:
    synth = ["synth", str(seconds), "sine", frequency, "vol", "0.5"]
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), *synth],
        check=True,
        capture_output=True,
    )
    return path


def _soxi(flag: str, path: Path) -> str:
    return subprocess.run(
        ["soxi", flag, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


@needs_sox
def test_a_call_is_stored_compressed_both_parties_in_two_channels(tmp_path: Path) -> None:
    received = _tone(tmp_path / "dec.wav", 60, "300-3000")
    sent = _tone(tmp_path / "enc.wav", 60, "3000-300")
    stored = recordings.store([received, sent], tmp_path / "out" / "call-1-seat.wav")
    assert stored is not None and stored.suffix == ".ogg"
    assert (_soxi("-c", stored), _soxi("-r", stored)) == ("2", "8000")
    assert abs(float(_soxi("-D", stored)) - 60) < 0.1
    # A minute of two-party 8 kHz audio: 1.9 MB as WAV, well under 400 KB stored.
    wav_minute = 2 * 8000 * 2 * 60
    assert stored.stat().st_size < 400_000 < wav_minute
    assert recordings.content_type(stored) == "audio/ogg"


@needs_sox
@pytest.mark.django_db
def test_the_player_serves_ogg_with_its_type(
    tmp_path: Path, settings: Any, supervisor: Any
) -> None:
    settings.TELEPHONY_RECORDING_DIR = tmp_path
    stored = recordings.store([_tone(tmp_path / "a.wav", 3, "440")], tmp_path / "c.wav")
    assert stored is not None
    contact = contact_record(
        actor=SYSTEM, channel=Channel.PHONE, started_at=T0, recording_ref=str(stored)
    )
    response = _client(supervisor).get(f"/telephony/recordings/{contact.pk}/?download=1")
    assert response["Content-Type"] == "audio/ogg"
    assert response["Content-Disposition"].endswith('.ogg"')
    page = _client(supervisor).get(f"/telephony/recordings/{contact.pk}/")
    assert page.content == stored.read_bytes()


def test_retention_is_the_longest_of_the_cases_kinds(settings: Any) -> None:
    settings.TELEPHONY_RECORDING_RETENTION_DAYS = {"": 90, "complaint": 730, "repair": 365}
    assert recordings.retention_days([]) == 90
    assert recordings.retention_days(["consultation"]) == 90
    assert recordings.retention_days(["repair", "complaint"]) == 730


@pytest.mark.django_db
def test_the_periodic_job_deletes_recordings_past_their_retention(
    tmp_path: Path, settings: Any, make_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from qingquan.telephony.tasks import expire_recordings
    from qingquan.tickets.models import CaseKind
    from qingquan.tickets.services import ticket_create

    settings.TELEPHONY_RECORDING_DIR = tmp_path
    settings.TELEPHONY_RECORDING_RETENTION_DAYS = {"": 90, "complaint": 730}
    now = T0 + dt.timedelta(days=400)

    def recorded(name: str, days_ago: int, tickets: Any = ()) -> Any:
        path = tmp_path / f"{name}.ogg"
        path.write_bytes(b"OggS" + bytes(100))
        return contact_record(
            actor=SYSTEM,
            channel=Channel.PHONE,
            started_at=now - dt.timedelta(days=days_ago),
            recording_ref=str(path),
            tickets=tickets,
        )

    agent = make_user(Role.AGENT)
    complaint = ticket_create(
        actor=agent,
        kind=CaseKind.objects.filter(parent__code="complaint").first()
        or CaseKind.objects.get(code="complaint"),
        channel="phone",
        subject="服务态度",
        caller_phone="13800000000",
    )
    old = recorded("old", 100)
    young = recorded("young", 30)
    kept = recorded("complaint", 100, tickets=[complaint])
    with django_capture_on_commit_callbacks(execute=True):
        assert recordings.recordings_expire(now=now) == 1
    assert not (tmp_path / "old.ogg").exists()
    assert (tmp_path / "young.ogg").exists() and (tmp_path / "complaint.ogg").exists()
    for contact in (old, young, kept):
        contact.refresh_from_db()
    assert old.recording_ref == "" and young.recording_ref and kept.recording_ref
    event = AuditEvent.objects.get(action="telephony.recording.delete")
    assert event.object_id == str(old.pk)
    # Run again (the periodic job): nothing more to delete at this date.
    assert recordings.recordings_expire(now=now) == 0
    # The periodic job runs the same sweep (at today's date: these are in the future).
    assert expire_recordings.call() == 0
