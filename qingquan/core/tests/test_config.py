"""Configuration from the environment; production refuses weak settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from qingquan import config

GOOD_SECRET = "k3J9-x" * 12
ROOT = Path(__file__).resolve().parents[3]


def test_embedded_default_keeps_its_secret_in_the_data_folder(tmp_path):
    first = config.read({"QINGQUAN_DATA_DIR": str(tmp_path)})
    second = config.read({"QINGQUAN_DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.embedded and not first.production
    assert "127.0.0.1" in first.allowed_hosts


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "QINGQUAN_SECRET_KEY"),
        ({"QINGQUAN_SECRET_KEY": "short"}, "QINGQUAN_SECRET_KEY"),
        ({"QINGQUAN_SECRET_KEY": GOOD_SECRET}, "QINGQUAN_ALLOWED_HOSTS"),
        (
            {"QINGQUAN_SECRET_KEY": GOOD_SECRET, "QINGQUAN_ALLOWED_HOSTS": "*"},
            "QINGQUAN_ALLOWED_HOSTS",
        ),
        (
            {"QINGQUAN_SECRET_KEY": GOOD_SECRET, "QINGQUAN_ALLOWED_HOSTS": "hotline.example"},
            "DATABASE_URL",
        ),
        (
            {
                "QINGQUAN_SECRET_KEY": GOOD_SECRET,
                "QINGQUAN_ALLOWED_HOSTS": "hotline.example",
                "DATABASE_URL": "sqlite:////tmp/x.sqlite3",
            },
            "DATABASE_URL",
        ),
    ],
)
def test_production_refuses_weak_configuration(env, needle):
    with pytest.raises(ImproperlyConfigured) as error:
        config.read({"QINGQUAN_ENV": "production", **env})
    assert needle in str(error.value)


def test_numbers_come_from_the_environment_and_bad_ones_are_named(tmp_path):
    base = {"QINGQUAN_DATA_DIR": str(tmp_path)}
    default = config.read(base)
    assert (default.demo_accounts, default.db_pool_min, default.db_pool_size) == (3000, 4, 16)
    assert (default.email_host, default.email_port) == ("", 25)
    set_ = config.read(
        {
            **base,
            "QINGQUAN_DEMO_ACCOUNTS": "200",
            "QINGQUAN_DB_POOL_MIN": "2",
            "QINGQUAN_DB_POOL_SIZE": "8",
            "QINGQUAN_EMAIL_HOST": "smtp.example",
            "QINGQUAN_EMAIL_PORT": "587",
        }
    )
    assert (set_.demo_accounts, set_.db_pool_min, set_.db_pool_size) == (200, 2, 8)
    assert (set_.email_host, set_.email_port) == ("smtp.example", 587)
    for bad in ("many", "-1", "1.5"):
        with pytest.raises(ImproperlyConfigured, match="QINGQUAN_DB_POOL_SIZE"):
            config.read({**base, "QINGQUAN_DB_POOL_SIZE": bad})


def test_settings_read_the_environment_only_through_config():
    source = (ROOT / "qingquan" / "settings.py").read_text()
    assert "os.environ" not in source and "getenv" not in source and "import os" not in source


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QINGQUAN_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    full_env.pop("DATABASE_URL", None)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "qingquan.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_in_weak_production_mode_exits_with_a_clear_message(tmp_path):
    result = _cli(["serve", "--port", "0"], {"QINGQUAN_ENV": "production"})
    assert result.returncode == 2
    assert "refuses to start in production mode" in result.stderr
    assert "QINGQUAN_SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr


def test_strong_production_configuration_passes_check_deploy(tmp_path):
    result = _cli(
        ["check-production"],
        {
            "QINGQUAN_SECRET_KEY": GOOD_SECRET,
            "QINGQUAN_ALLOWED_HOSTS": "hotline.example.cn",
            "DATABASE_URL": "postgres://qingquan@127.0.0.1:5432/qingquan",
            "QINGQUAN_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "Production configuration OK" in result.stdout
