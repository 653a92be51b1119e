"""Benchmark building blocks: a comparison of a subject against a baseline measured in the
same run, interleaved so that machine noise hits both alike, and one-off measurements."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Comparison:
    """`subject` timed against `baseline`; the ratio is median(subject) / median(baseline)."""

    name: str
    baseline_label: str
    subject_label: str
    baseline: Callable[[], object]
    subject: Callable[[], object]
    iterations: int = 200
    warmup: int = 10
    # e.g. 3.0 for "subject at most 3× the baseline"; None when only reported.
    max_ratio: float | None = None
    # For throughput comparisons: each call does `units` operations (ratio stays time-based).
    units: int = 1
    # e.g. 150.0 for "the subject's median under 150 ms", whatever the baseline does.
    max_subject_ms: float | None = None
    note: str = ""


@dataclass
class Measurement:
    """A single figure (e.g. a sweep over a million rows), with an optional limit."""

    name: str
    seconds: float
    limit_seconds: float | None = None
    note: str = ""


@dataclass
class Figure:
    """A figure that is neither a time nor a ratio of times, e.g. tickets per second against
    a peer system; `ratio` and `target` as measured and required."""

    name: str
    value: float
    unit: str
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Result:
    name: str
    kind: str
    baseline_label: str = ""
    subject_label: str = ""
    baseline_median_ms: float | None = None
    subject_median_ms: float | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)
    # A figure's value with its unit (shown in the subject column).
    value_text: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("samples")
        return data


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_comparison(comparison: Comparison, *, scale: float = 1.0) -> Result:
    """Time both sides alternately and compare their medians."""
    iterations = max(3, int(comparison.iterations * scale))
    for _ in range(max(1, int(comparison.warmup * scale))):
        comparison.baseline()
        comparison.subject()
    base: list[float] = []
    subj: list[float] = []
    for i in range(iterations):
        # Alternate which side goes first, so neither always runs on a warmer cache.
        if i % 2 == 0:
            base.append(_time(comparison.baseline))
            subj.append(_time(comparison.subject))
        else:
            subj.append(_time(comparison.subject))
            base.append(_time(comparison.baseline))
    return summarise(comparison, base, subj)


def summarise(comparison: Comparison, base: list[float], subj: list[float]) -> Result:
    """Medians in milliseconds per unit, and the ratio subject / baseline."""
    base_ms = statistics.median(base) * 1000 / comparison.units
    subj_ms = statistics.median(subj) * 1000 / comparison.units
    ratio = subj_ms / base_ms if base_ms > 0 else float("inf")
    checks = []
    targets = []
    if comparison.max_ratio is not None:
        checks.append(ratio <= comparison.max_ratio)
        targets.append(f"≤ {comparison.max_ratio}×")
    if comparison.max_subject_ms is not None:
        checks.append(subj_ms <= comparison.max_subject_ms)
        targets.append(f"subject ≤ {comparison.max_subject_ms:g} ms")
    return Result(
        name=comparison.name,
        kind="comparison",
        baseline_label=comparison.baseline_label,
        subject_label=comparison.subject_label,
        baseline_median_ms=round(base_ms, 4),
        subject_median_ms=round(subj_ms, 4),
        ratio=round(ratio, 3),
        target=", ".join(targets),
        ok=all(checks) if checks else None,
        note=comparison.note,
        samples={"baseline": base, "subject": subj},
    )


def record_measurement(measurement: Measurement) -> Result:
    ok = None
    target = ""
    if measurement.limit_seconds is not None:
        ok = measurement.seconds <= measurement.limit_seconds
        target = f"≤ {measurement.limit_seconds:g} s"
    return Result(
        name=measurement.name,
        kind="measurement",
        subject_median_ms=round(measurement.seconds * 1000, 3),
        target=target,
        ok=ok,
        note=measurement.note,
    )


def record_figure(figure: Figure) -> Result:
    return Result(
        name=figure.name,
        kind="figure",
        ratio=None if figure.ratio is None else round(figure.ratio, 3),
        target=figure.target,
        ok=figure.ok,
        note=figure.note,
        value_text=f"{figure.value:,.1f} {figure.unit}",
    )


def format_table(results: list[dict[str, Any]]) -> str:
    """A plain-text table of results from one or more databases."""
    headers = ["database", "benchmark", "baseline ms", "subject ms", "ratio", "target", "ok"]
    rows = []
    for r in results:
        rows.append(
            [
                r.get("database", ""),
                r["name"],
                "" if r["baseline_median_ms"] is None else f"{r['baseline_median_ms']:.3f}",
                r.get("value_text", "")
                if r["subject_median_ms"] is None
                else f"{r['subject_median_ms']:.3f}",
                "" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                r["target"],
                {True: "yes", False: "NO", None: ""}[r["ok"]],
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))  # noqa: E731
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    return "\n".join(out)
