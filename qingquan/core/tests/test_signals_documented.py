"""docs/architecture.md lists every receiver of our signals and of our models' signals
("Signals and their receivers"): the table must match what is connected, row for row."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
import weakref
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db.models import signals as model_signals
from django.dispatch import Signal

import qingquan

DOC = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"
HEADING = "## Signals and their receivers"
MODEL_SIGNALS = {
    id(value): name for name, value in vars(model_signals).items() if isinstance(value, Signal)
}


def _short(path: str) -> str:
    return path.removeprefix("qingquan.")


def _import_every_module() -> None:
    """Import all of qingquan but tests and migrations, so that a receiver connected by a
    module nobody has imported yet is found too."""
    for module in pkgutil.walk_packages(qingquan.__path__, "qingquan."):
        if not re.search(r"\.(tests|migrations)(\.|$)", module.name):
            importlib.import_module(module.name)


def _defines(module: Any, attr: str) -> bool:
    """Whether `module`'s source creates the signal `attr` (rather than importing it)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    return re.search(rf"^{re.escape(attr)}\s*(:[^=]*)?=\s*[\w.]*Signal\(", source, re.M) is not None


def _signals() -> dict[int, tuple[Signal, str]]:
    """Every Signal object at module level in a loaded module, by id, with its name:
    `post_save` etc. for Django's model signals, else the dotted path of the module that
    creates it (a module importing it is not its name)."""
    found: dict[int, tuple[Signal, list[tuple[Any, str]]]] = {}
    for module in list(sys.modules.values()):
        for attr, value in list(vars(module).items()) if module is not None else ():
            if isinstance(value, Signal):
                found.setdefault(id(value), (value, []))[1].append((module, attr))
    named: dict[int, tuple[Signal, str]] = {}
    for key, (signal, places) in found.items():
        if key in MODEL_SIGNALS:
            named[key] = (signal, MODEL_SIGNALS[key])
            continue
        module, attr = next(((m, a) for m, a in places if _defines(m, a)), places[0])
        named[key] = (signal, _short(f"{module.__name__}.{attr}"))
    return named


def connected() -> set[tuple[str, str, str]]:
    """(signal, sender, receiver) for every receiver that is ours (defined in qingquan) or
    listens to one of our models."""
    _import_every_module()
    ours = {c.label for c in apps.get_app_configs() if c.name.startswith("qingquan.")}
    models = {id(m): m._meta.label for m in apps.get_models()}
    rows = set()
    for signal, signal_name in _signals().values():
        for key, ref, *_ in signal.receivers:
            receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
            if receiver is None:
                continue  # collected
            sender_id = key[1]
            sender = "any" if sender_id == id(None) else models.get(sender_id, f"?{sender_id}")
            path = f"{receiver.__module__}.{receiver.__qualname__}"
            if path.startswith("qingquan.") or sender.split(".")[0] in ours:
                rows.add((signal_name, sender, _short(path)))
    return rows


def documented() -> set[tuple[str, str, str]]:
    """(signal, sender, receiver) of each row of the table under HEADING."""
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"docs/architecture.md has no section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] not in ("signal", "---"):
            rows.add((cells[0], cells[1], cells[2]))
    return rows


def test_the_table_lists_every_connected_receiver() -> None:
    live, listed = connected(), documented()
    missing = sorted(live - listed)
    stale = sorted(listed - live)
    assert not missing, f"receivers missing from docs/architecture.md: {missing}"
    assert not stale, f"rows in docs/architecture.md that nothing connects: {stale}"


def test_the_fan_out_of_a_case_change_is_found() -> None:
    """The check itself sees what it must: the three listeners of a timeline entry."""
    live = connected()
    for receiver in (
        "reports.signals.on_ticket_event",
        "partners.signals.ticket_event_saved",
        "surveys.signals.on_ticket_event",
    ):
        assert ("post_save", "tickets.TicketEvent", receiver) in live
