"""Prompt audio: Mandarin speech from text with Debian's `espeak-ng` (voice ``cmn``),
converted by `sox` to what telephones carry (8 kHz, mono, 16-bit WAV).

Files are cached under ``settings.TELEPHONY_PROMPT_DIR`` by a hash of voice and text, so an
edited prompt text gets new audio and an unchanged one is never synthesised twice. A
recording uploaded for a prompt replaces the synthetic audio (converted the same way).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.telephony.models import Prompt

RATE = 8000


class PromptError(Exception):
    """Audio that cannot be made (tools missing, a file sox cannot read)."""


def tools_available() -> bool:
    """Whether espeak-ng and sox are installed."""
    return bool(shutil.which("espeak-ng") and shutil.which("sox"))


def prompt_dir() -> Path:
    path = Path(settings.TELEPHONY_PROMPT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def text_hash(text: str, voice: str | None = None) -> str:
    voice = voice or settings.TELEPHONY_TTS_VOICE
    return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:24]


def _to_telephone(source: Path, target: Path, *, pad_seconds: float = 0.0) -> None:
    """8 kHz mono 16-bit WAV; `pad_seconds` of silence at the end (a SIP player that ends
    the call at the end of a file gets time to be given the next one)."""
    command = ["sox", str(source), "-r", str(RATE), "-c", "1", "-b", "16", str(target)]
    if pad_seconds:
        command += ["pad", "0", str(pad_seconds)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise PromptError(_("The audio could not be converted: %(error)s") % {"error": done.stderr})


def synthesize(text: str, *, voice: str | None = None) -> Path:
    """The WAV file speaking `text` (made on first use, then from the cache)."""
    voice = voice or settings.TELEPHONY_TTS_VOICE
    target = prompt_dir() / f"tts-{text_hash(text, voice)}.wav"
    if target.exists():
        return target
    if not tools_available():
        raise PromptError(_("espeak-ng and sox are needed to speak prompts."))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        done = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0 or not raw.exists():
            raise PromptError(_("espeak-ng failed: %(error)s") % {"error": done.stderr})
        partial = Path(tmp) / "out.wav"
        _to_telephone(raw, partial)
        shutil.move(str(partial), target)  # whole files only: another process may read it
    return target


def audio_for(*, key: str, text: str, dynamic: bool = False) -> Path:
    """The audio to play for prompt `key` saying `text`: its uploaded recording if it has
    one (and the text is the prompt's own), else synthetic speech."""
    if not dynamic:
        recording = Prompt.objects.filter(key=key).values_list("recording", flat=True).first()
        if recording and (prompt_dir() / recording).exists():
            return prompt_dir() / recording
    return synthesize(text)


@transaction.atomic
def prompt_set_text(*, actor: Any, prompt: Prompt, text: str) -> Prompt:
    """Change a prompt's text (its synthetic audio follows; an upload still wins)."""
    text = (text or "").strip()
    if not text:
        raise PromptError(_("A prompt needs a text."))
    before = prompt.text
    Prompt.objects.filter(pk=prompt.pk).update(text=text, updated_at=clock.now())
    prompt.refresh_from_db()
    audit_record(
        actor=actor,
        action="telephony.prompt.text",
        obj=prompt,
        before={"text": before},
        after={"text": text},
    )
    return prompt


@transaction.atomic
def prompt_upload(*, actor: Any, prompt: Prompt, data: bytes, filename: str = "") -> Prompt:
    """Replace a prompt's synthetic audio by a recording (any format sox reads)."""
    if not data:
        raise PromptError(_("The uploaded file is empty."))
    suffix = Path(filename).suffix.lower() or ".wav"
    digest = hashlib.sha256(data).hexdigest()[:24]
    name = f"upload-{prompt.key}-{digest}.wav"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"upload{suffix}"
        source.write_bytes(data)
        partial = Path(tmp) / "out.wav"
        _to_telephone(source, partial)
        shutil.move(str(partial), prompt_dir() / name)
    before = prompt.recording
    Prompt.objects.filter(pk=prompt.pk).update(recording=name, updated_at=clock.now())
    prompt.refresh_from_db()
    audit_record(
        actor=actor,
        action="telephony.prompt.upload",
        obj=prompt,
        before={"recording": before},
        after={"recording": name},
    )
    return prompt


@transaction.atomic
def prompt_clear_upload(*, actor: Any, prompt: Prompt) -> Prompt:
    """Go back to the synthetic audio."""
    before = prompt.recording
    Prompt.objects.filter(pk=prompt.pk).update(recording="", updated_at=clock.now())
    prompt.refresh_from_db()
    audit_record(
        actor=actor,
        action="telephony.prompt.upload",
        obj=prompt,
        before={"recording": before},
        after={"recording": ""},
    )
    return prompt


def wav_info(path: Path) -> tuple[int, int, float]:
    """(sample rate, channels, seconds) of a WAV file, read with the standard library."""
    import wave

    with wave.open(str(path), "rb") as handle:
        frames = handle.getnframes()
        rate = handle.getframerate()
        return rate, handle.getnchannels(), frames / rate if rate else 0.0
