"""The curl examples of docs/api.md, run in order against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_docs_have_examples_for_both_apis():
    blocks = "\n".join(sh_blocks())
    for needle in ("/api/partner/v1/cases", "Idempotency-Key", "/open311/v2/requests"):
        assert needle in blocks


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
@pytest.mark.django_db(transaction=True)
def test_curl_examples_run_against_a_live_server(live_server, make_client, tmp_path):
    from qingquan.partners.models import PartnerCase
    from qingquan.tickets.models import Ticket

    _client, key = make_client("zlb-docs")
    script = "set -euo pipefail\n" + "\n".join(sh_blocks())
    result = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "QQ": live_server.url, "KEY": key, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ZLB-2026-000123" in out
    assert "<?xml" in out and "<services>" in out and "<service_requests>" in out
    # The retried creation made no second case; the Open311 request made one.
    assert PartnerCase.objects.filter(external_id="ZLB-2026-000123").count() == 1
    assert Ticket.objects.count() == 2
    assert PartnerCase.objects.filter(source="open311").count() == 1
