"""How the IVR reads numbers aloud in Mandarin: amounts (一百二十八元五角), dates
(二零二六年十二月三日) and account numbers digit by digit (三零一二…).

Pure functions, no Django: the prompt text they build is what `prompts.synthesize` speaks.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ["", "十", "百", "千"]
_BIG_UNITS = ["", "万", "亿", "万亿"]


def digits_reading(number: str) -> str:
    """Each digit on its own, as account and phone numbers are read: "3012" → 三零一二.

    Characters that are not digits (spaces, dashes) are left out.
    """
    return "".join(DIGITS[int(c)] for c in number if c.isascii() and c.isdigit())


def _section(n: int, *, liang: bool) -> str:
    """0 < n < 10000 as Chinese numerals, with 零 for inner gaps (1010 → 一千零一十)."""
    out: list[str] = []
    zero = False
    for position in range(3, -1, -1):
        digit = n // 10**position % 10
        if digit == 0:
            if out:
                zero = True
            continue
        if zero:
            out.append("零")
            zero = False
        if digit == 2 and liang and position >= 2:
            out.append("两")
        else:
            out.append(DIGITS[digit])
        out.append(_SMALL_UNITS[position])
    return "".join(out)


def integer_reading(n: int) -> str:
    """A whole number as a Mandarin speaker says it: 10 → 十, 110 → 一百一十,
    1010 → 一千零一十, 20000 → 两万, 100000001 → 一亿零一."""
    if n < 0:
        return "负" + integer_reading(-n)
    if n == 0:
        return "零"
    if n >= 10**16:
        return digits_reading(str(n))
    sections: list[int] = []
    rest = n
    while rest:
        sections.append(rest % 10000)
        rest //= 10000
    out: list[str] = []
    pending_zero = False
    for index in range(len(sections) - 1, -1, -1):
        value = sections[index]
        if value == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or value < 1000):
            out.append("零")
        pending_zero = False
        # 两 before 百/千 and before a big unit when the section is just 2 (两万, 两亿).
        text = _section(value, liang=True)
        if value == 2 and index > 0:
            text = "两"
        out.append(text + _BIG_UNITS[index])
    text = "".join(out)
    # 一十 at the very start is said 十 (十五, 十万), but 一百一十 keeps its 一.
    if text.startswith("一十"):
        text = text[1:]
    return text


def amount_reading(amount: Decimal | int | str) -> str:
    """An amount in yuan as said on the phone: 128.5 → 一百二十八元五角,
    128.05 → 一百二十八元零五分, 0.3 → 三角, 0 → 零元, 100 → 一百元."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = ""
    if value < 0:
        sign, value = "负", -value
    fen_total = int(value * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    parts: list[str] = []
    if yuan:
        parts.append(integer_reading(yuan) + "元")
    if jiao:
        parts.append(DIGITS[jiao] + "角")
    if fen:
        if yuan and not jiao:
            parts.append("零")
        parts.append(DIGITS[fen] + "分")
    if not parts:
        return "零元"
    return sign + "".join(parts)


def date_reading(day: dt.date) -> str:
    """A date as read aloud: the year digit by digit, month and day as numbers:
    2026-12-03 → 二零二六年十二月三日."""
    return (
        f"{digits_reading(str(day.year))}年"
        f"{integer_reading(day.month)}月{integer_reading(day.day)}日"
    )


def _parse_section(text: str) -> int:
    total = 0
    digit = 0
    units = {"十": 10, "百": 100, "千": 1000}
    for char in text:
        if char == "两":
            digit = 2
        elif char in DIGITS:
            digit = DIGITS.index(char)
        elif char in units:
            total += (digit or 1) * units[char]
            digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {char!r}")
    return total + digit


def parse_integer(text: str) -> int:
    """The inverse of :func:`integer_reading` (used to check it, and by the test driver)."""
    if text.startswith("负"):
        return -parse_integer(text[1:])
    total = 0
    for unit, factor in (("万亿", 10**12), ("亿", 10**8), ("万", 10**4)):
        if unit in text:
            head, text = text.split(unit, 1)
            total += _parse_section(head) * factor
    return total + _parse_section(text)


def parse_amount(text: str) -> Decimal:
    """The inverse of :func:`amount_reading`: 一百二十八元五角 → Decimal("128.50")."""
    sign = 1
    if text.startswith("负"):
        sign, text = -1, text[1:]
    yuan = 0
    if "元" in text:
        head, text = text.split("元", 1)
        yuan = parse_integer(head)
    jiao = fen = 0
    if "角" in text:
        head, text = text.split("角", 1)
        jiao = DIGITS.index(head)
    text = text.removeprefix("零")
    if "分" in text:
        fen = DIGITS.index(text.split("分", 1)[0])
    return sign * (Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100).quantize(
        Decimal("0.01")
    )
