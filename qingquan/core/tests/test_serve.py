"""Command 1 end to end: `qingquan serve` on a fresh data folder migrates, seeds the demo,
prints one login per role, serves HTTP with an in-process worker, and every login works."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _login(base: str, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        page = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token
        response = client.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": password,
            },
            headers={"Referer": f"{base}/login/"},
        )
        if response.status_code == 302:
            return client.get("/")
        return response


def test_serve_first_run_prints_working_demo_logins(tmp_path):
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QINGQUAN_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.pop("DATABASE_URL", None)
    env["QINGQUAN_DATA_DIR"] = str(tmp_path / "var")
    env["QINGQUAN_DEMO_ACCOUNTS"] = "200"  # the generated city's size is not under test
    out = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qingquan.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 280
        while time.monotonic() < deadline:
            assert proc.poll() is None, Path(out.name).read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("serve did not come up: " + Path(out.name).read_text())
        log = Path(out.name).read_text()
        # The staff block ends at its blank line (the online hall's lines follow).
        staff_block = log.split("演示账号", 1)[1].split("\n\n", 1)[0]
        logins = re.findall(r"^\s{2}(\w+)\s+(\S+)\s+.+\(.+\)$", staff_block, re.MULTILINE)
        assert "portal/login/" in log  # the residents' login is printed too
        assert {name for name, _ in logins} == {
            "agent",
            "supervisor",
            "dispatcher",
            "crew",
            "backoffice",
            "manager",
            "admin",
        }, log
        assert "In-process task worker started" in log
        for username, password in logins:
            home = _login(base, username, password)
            assert home.status_code == 200, username
            assert 'data-testid="home"' in home.text
            assert "您好" in home.text  # Chinese by default
        # A stop (systemd's SIGTERM, Ctrl-C) lets the in-process worker finish and forget
        # its heartbeat: a restart must not leave a "silent worker" on the wallboard.
        proc.terminate()
        assert proc.wait(timeout=60) == 0, Path(out.name).read_text()
        with sqlite3.connect(tmp_path / "var" / "qingquan.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM core_workerheartbeat").fetchone() == (0,)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
