"""Every app's Chinese catalogue is complete, compiled, and up to date with the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[3]
APPS = sorted(p.parent for p in (ROOT / "qingquan").glob("*/apps.py"))


def catalogue(app: Path) -> Path:
    return app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_catalogue_is_complete_and_compiled(app):
    po_path = catalogue(app)
    assert po_path.exists(), f"run bin/messages: {po_path} is missing"
    po = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in po if not e.translated() and not e.obsolete]
    assert untranslated == [], f"untranslated in {app.name}: {untranslated[:10]}"
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    compiled = {(e.msgctxt, e.msgid): (e.msgstr or e.msgstr_plural.get(0)) for e in mo}
    for entry in po:
        if entry.obsolete:
            continue
        key = (entry.msgctxt, entry.msgid)
        expected = entry.msgstr or entry.msgstr_plural.get(0)
        assert compiled.get(key) == expected, f"{app.name}: .mo is stale for {entry.msgid!r}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is installed by bin/setup")
@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_catalogue_holds_every_string_in_the_code(app, tmp_path):
    copy = tmp_path / app.name
    shutil.copytree(app, copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qingquan.settings", "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    subprocess.run(
        [
            # The script, not `python -m django`: with -m the app folder would be on
            # sys.path and core/calendar.py would shadow the standard library.
            str(Path(sys.executable).parent / "django-admin"),
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "--no-obsolete",
            "-i",
            "tests/*",
            "-i",
            "migrations/*",
        ],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = polib.pofile(str(catalogue(copy)))
    missing = [e.msgid for e in fresh if not e.translated() and not e.obsolete]
    assert missing == [], (
        f"{app.name}: strings not in the catalogue (run bin/messages): {missing[:10]}"
    )


def test_same_english_word_keeps_its_meaning_in_each_app():
    """All catalogues share one namespace; ambiguous words carry a context (pgettext)."""
    from django.utils import translation

    from qingquan.customers.models import AccountStatus, PhoneLabel
    from qingquan.staff.access import NAVIGATION
    from qingquan.tickets.models import TicketState

    with translation.override("zh-hans"):
        assert str(TicketState.CLOSED.label) == "已关闭"
        assert str(TicketState.DISPATCHED.label) == "已派单"
        assert str(AccountStatus.CLOSED.label) == "销户"
        assert str(PhoneLabel.HOME.label) == "住宅电话"
        assert str(NAVIGATION[0].label) == "首页"
