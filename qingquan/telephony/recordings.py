"""Call recordings: stored compressed, served by type, deleted after their retention period.

Format (decision 0012): Ogg Vorbis at quality 0, 8 kHz, two channels (left: what the line
or seat received, right: what it sent). A minute of a two-party call is about 160 KB,
against 1.9 MB as 16-bit WAV and 1.2 MB as FLAC; browsers play and seek it (byte ranges).

Retention: `TELEPHONY_RECORDING_RETENTION_DAYS` maps the top-level kind of the contact's
cases to days (the longest of them when a call touched several cases), "" for calls
without a case. `recordings_expire` (a periodic job) deletes the files past it and clears
the references, each deletion audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.audit import audit_record

log = logging.getLogger(__name__)

SUFFIX = ".ogg"
QUALITY = "0"  # Vorbis -q 0: ~21 kbit/s for two 8 kHz channels
CONTENT_TYPES = {".ogg": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac"}


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def store(parts: Iterable[Path], target: Path) -> Path | None:
    """Write `parts` (one or two mono 8 kHz WAVs: received, sent) as one compressed file
    at `target` (its suffix becomes .ogg); None if sox failed."""
    sources = [str(p) for p in parts]
    if not sources:
        return None
    target = target.with_suffix(SUFFIX)
    target.parent.mkdir(parents=True, exist_ok=True)
    merge = ["-M"] if len(sources) == 2 else []
    command = ["sox", *merge, *sources, "-r", "8000", "-C", QUALITY, str(target)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError):
        log.exception("recording %s could not be compressed", target.name)
        if len(sources) == 1:  # keep the audio uncompressed rather than lose it
            fallback = target.with_suffix(".wav")
            shutil.copyfile(sources[0], fallback)
            return fallback
        return None
    return target


def retention_days(kind_codes: Iterable[str]) -> int:
    """Days a recording is kept for a call that touched cases of these top-level kinds."""
    table: dict[str, int] = dict(settings.TELEPHONY_RECORDING_RETENTION_DAYS)
    default = int(table.get("", 180))
    days = [int(table.get(code, default)) for code in kind_codes]
    return max(days, default=default)


def _root() -> Path:
    return Path(settings.TELEPHONY_RECORDING_DIR).resolve()


def _files_of(contact: Any) -> list[Path]:
    """The recording files of a contact: its own, and its call's other legs (the IVR
    line's recording is named after the call id)."""
    root = _root()
    refs = {contact.recording_ref}
    call = getattr(contact, "call", None)
    stems: list[str] = []
    if call is not None:
        refs.add(call.recording_ref)
        stems.append("".join(c if c.isalnum() or c in "-_." else "_" for c in call.call_id)[:80])
    paths = []
    for ref in filter(None, refs):
        path = Path(ref)
        paths.append((path if path.is_absolute() else root / path).resolve())
    for stem in stems:
        paths.extend(root.glob(f"{stem}-*"))
    return [p for p in dict.fromkeys(paths) if p.is_relative_to(root)]


def recordings_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the recordings past their retention period; returns how many contacts lost
    theirs. Each deletion is audited (`telephony.recording.delete`)."""
    from qingquan.telephony.models import Call
    from qingquan.tickets.models import Contact

    now = now or clock.now()
    table: dict[str, int] = dict(settings.TELEPHONY_RECORDING_RETENTION_DAYS)
    shortest = min([int(v) for v in table.values()] or [180])
    candidates = (
        Contact.objects.exclude(recording_ref="")
        .filter(started_at__lt=now - dt.timedelta(days=shortest))
        .select_related("call")
        .prefetch_related("tickets__kind__parent")
        .order_by("started_at")
    )
    deleted = 0
    for contact in candidates.iterator(chunk_size=200):
        codes = [t.kind.top.code for t in contact.tickets.all()]
        if contact.started_at >= now - dt.timedelta(days=retention_days(codes)):
            continue
        with transaction.atomic():
            files = _files_of(contact)
            Contact.objects.filter(pk=contact.pk).update(recording_ref="")
            Call.objects.filter(contact=contact).update(recording_ref="")
            audit_record(
                actor=system("telephony"),
                action="telephony.recording.delete",
                obj=contact,
                before={"recording": contact.recording_ref},
                after={"recording": "", "kinds": sorted(set(codes))},
            )
            transaction.on_commit(functools.partial(_unlink, files), robust=True)
        deleted += 1
    return deleted


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
