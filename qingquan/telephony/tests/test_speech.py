"""Reading numbers in Mandarin (property tests) and prompt audio (espeak-ng + sox)."""

from __future__ import annotations

import datetime as dt
import io
import wave
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingquan.core.actors import SYSTEM
from qingquan.telephony import prompts, speech
from qingquan.telephony.models import Prompt

tools = pytest.mark.skipif(
    not prompts.tools_available(),
    reason="espeak-ng and sox are not installed (bin/setup installs them when run as root)",
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("128.5", "一百二十八元五角"),
        ("128.05", "一百二十八元零五分"),
        ("128.55", "一百二十八元五角五分"),
        ("0.3", "三角"),
        ("0", "零元"),
        ("10", "十元"),
        ("100", "一百元"),
        ("1010.10", "一千零一十元一角"),
        ("20000", "两万元"),
        ("3456.78", "三千四百五十六元七角八分"),
    ],
)
def test_amounts_are_read_as_a_chinese_speaker_says_them(value: str, text: str) -> None:
    assert speech.amount_reading(Decimal(value)) == text


def test_dates_and_account_numbers() -> None:
    assert speech.date_reading(dt.date(2026, 12, 3)) == "二零二六年十二月三日"
    assert speech.date_reading(dt.date(2027, 10, 20)) == "二零二七年十月二十日"
    assert speech.digits_reading("3302-0012") == "三三零二零零一二"
    assert speech.integer_reading(100000001) == "一亿零一"
    assert speech.integer_reading(110) == "一百一十"
    assert speech.integer_reading(-12) == "负十二"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integer_reading_round_trips(n: int) -> None:
    text = speech.integer_reading(n)
    assert speech.parse_integer(text) == n
    assert ("零零" not in text and not text.endswith("零")) or n == 0
    assert not text.startswith("一十")


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_amount_reading_round_trips(amount: Decimal) -> None:
    text = speech.amount_reading(amount)
    assert speech.parse_amount(text) == amount.quantize(Decimal("0.01"))
    assert text.endswith(("元", "角", "分"))


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_date_reading_has_year_month_day(day: dt.date) -> None:
    text = speech.date_reading(day)
    year, rest = text.split("年")
    month, rest = rest.split("月")
    assert speech.parse_integer(month) == day.month
    assert speech.parse_integer(rest.removesuffix("日")) == day.day
    assert "".join(str(speech.DIGITS.index(c)) for c in year) == str(day.year)


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_digits_are_read_one_by_one(number: str) -> None:
    text = speech.digits_reading(number)
    assert len(text) == len(number)
    assert "".join(str(speech.DIGITS.index(c)) for c in text) == number


@pytest.fixture
def prompt_dir(tmp_path: Path, settings: Any) -> Path:
    settings.TELEPHONY_PROMPT_DIR = tmp_path
    return tmp_path


@tools
def test_synthesis_makes_8khz_audio_cached_by_text(prompt_dir: Path) -> None:
    first = prompts.synthesize("欢迎致电清泉供水服务热线")
    rate, channels, seconds = prompts.wav_info(first)
    assert (rate, channels) == (8000, 1) and seconds > 1
    mtime = first.stat().st_mtime_ns
    assert prompts.synthesize("欢迎致电清泉供水服务热线") == first
    assert first.stat().st_mtime_ns == mtime  # from the cache
    other = prompts.synthesize("应缴水费一百二十八元五角")
    assert other != first and len(list(prompt_dir.glob("tts-*.wav"))) == 2


def _wav(seconds: float = 0.5, rate: int = 44100) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * 2 * int(rate * seconds))
    return buffer.getvalue()


@tools
@pytest.mark.django_db
def test_text_change_regenerates_and_an_upload_replaces_the_synthetic_audio(
    prompt_dir: Path, standard_flow: Any
) -> None:
    prompt = Prompt.objects.get(key="greeting")
    before = prompts.audio_for(key="greeting", text=prompt.text)
    prompts.prompt_set_text(actor=SYSTEM, prompt=prompt, text="您好，这里是清泉热线。")
    after = prompts.audio_for(key="greeting", text=prompt.text)
    assert after != before and after.exists()
    prompts.prompt_upload(actor=SYSTEM, prompt=prompt, data=_wav(), filename="hello.wav")
    uploaded = prompts.audio_for(key="greeting", text=prompt.text)
    assert uploaded.name.startswith("upload-greeting-")
    assert prompts.wav_info(uploaded)[:2] == (8000, 1)
    # Dynamic text (an amount) is always spoken, never the upload.
    assert prompts.audio_for(key="greeting", text="一元", dynamic=True).name.startswith("tts-")
    prompts.prompt_clear_upload(actor=SYSTEM, prompt=prompt)
    assert prompts.audio_for(key="greeting", text=prompt.text) == after
    with pytest.raises(prompts.PromptError):
        prompts.prompt_upload(actor=SYSTEM, prompt=prompt, data=b"not audio", filename="x.wav")
    with pytest.raises(prompts.PromptError):
        prompts.prompt_set_text(actor=SYSTEM, prompt=prompt, text=" ")
