"""Reads Qingquan's configuration from the environment.

Kept apart from settings.py so that the rules (what production requires, where the data
folder is, how the secret key is found) can be tested without reloading Django settings.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PRODUCTION = "production"
MIN_SECRET_LENGTH = 50


@dataclass(frozen=True)
class Config:
    """The environment, read once and checked."""

    env: str
    data_dir: Path
    database_url: str | None
    redis_url: str | None
    secret_key: str
    allowed_hosts: list[str]
    debug: bool
    demo_accounts: int = 3000  # generated customer accounts the demo loads
    demo_network: str = "Net6"  # the EPANET network WNTR ships that the demo places
    db_pool_min: int = 4  # PostgreSQL connections each process opens at start
    db_pool_size: int = 16  # PostgreSQL connections per process at most
    http_threads: int = 2  # threads per web process for ordinary requests (decision 0015)
    http_long_threads: int = 4  # … and for long ones: exports, files, calls to other services
    email_host: str = ""  # SMTP server for the e-mailed reports ("" = files in data_dir)
    email_port: int = 25
    # A new repair report inside the isolated area of an open incident created within
    # this many hours is offered for merging (并单) into it (network.selectors.cases).
    network_merge_window_hours: float = 12.0
    # Interruption notices: a planned notice's lead time and the clock it is counted on.
    notice_lead_hours: int = 24
    notice_lead_clock: str = "calendar"  # or "working_days"
    # Outbound messages (defaults: the local fake gateways of `messaging_fake`).
    sms_endpoint: str = "http://127.0.0.1:8125/sms/"
    sms_access_key_id: str = "fake"
    sms_access_key_secret: str = "fake"
    sms_sign_name: str = "宁波水务"
    sms_rate: int = 200  # messages a second the SMS provider accepts
    wechat_endpoint: str = "http://127.0.0.1:8125/wechat/"
    wechat_app_id: str = "fake"
    wechat_app_secret: str = "fake"
    wechat_oauth_url: str = "http://127.0.0.1:8125/wechat/connect/oauth2/authorize"
    # Weibo and the Alipay life account (polled; "" = not configured, not shown).
    weibo_endpoint: str = "http://127.0.0.1:8125/weibo/"
    weibo_access_token: str = "fake"
    alipay_life_endpoint: str = "http://127.0.0.1:8125/alipay/gateway.do"
    alipay_life_app_id: str = "fake"
    alipay_life_key: str = "fake"
    messaging_receipt_token: str = "fake-receipts"
    # The online service hall and payments: who owns cases opened there until handed on
    # ("" = the first active supervisor), and JSON files with each payment provider's
    # merchant settings ("" = the local sandbox, never in production).
    portal_inbox: str = ""
    wechatpay_config: str = ""
    alipay_config: str = ""

    @property
    def production(self) -> bool:
        return self.env == PRODUCTION

    @property
    def embedded(self) -> bool:
        """True when running on the default SQLite database in the data folder."""
        return self.database_url is None or self.database_url.startswith("sqlite")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _number(env_vars: dict[str, str], name: str, default: int) -> int:
    """A whole-number variable, or ImproperlyConfigured naming it."""
    value = env_vars.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ImproperlyConfigured(f"{name}: a whole number, not {value!r}")
    return number


def _choice(env_vars: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (the first by default), or ImproperlyConfigured naming it."""
    value = env_vars.get(name, "").strip() or allowed[0]
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}: one of {', '.join(allowed)}, not {value!r}")
    return value


def _fake_default(env_vars: dict[str, str], env: str, name: str, fake_path: str) -> str:
    """A platform setting: as set, else (outside production) the local fake's, where
    `fake_path` is the fake's path for an endpoint and "" for a key ("fake"); in
    production unset stays "" (the platform is not configured, and not shown)."""
    given = env_vars.get(name, "").strip()
    if given or env == PRODUCTION:
        return given
    return f"http://127.0.0.1:8125/{fake_path}" if fake_path else "fake"


def _platforms(env_vars: dict[str, str], env: str) -> dict[str, str]:
    """The settings of Weibo and the Alipay life account (see `_fake_default`)."""
    return {
        "weibo_endpoint": _fake_default(env_vars, env, "QINGQUAN_WEIBO_ENDPOINT", "weibo/"),
        "weibo_access_token": _fake_default(env_vars, env, "QINGQUAN_WEIBO_ACCESS_TOKEN", ""),
        "alipay_life_endpoint": _fake_default(
            env_vars, env, "QINGQUAN_ALIPAY_LIFE_ENDPOINT", "alipay/gateway.do"
        ),
        "alipay_life_app_id": _fake_default(env_vars, env, "QINGQUAN_ALIPAY_LIFE_APP_ID", ""),
        "alipay_life_key": _fake_default(env_vars, env, "QINGQUAN_ALIPAY_LIFE_KEY", ""),
    }


def _embedded_secret(data_dir: Path) -> str:
    """The secret key kept in the data folder, created on first use."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def read(environ: dict[str, str] | None = None) -> Config:
    """Build the configuration; raise ImproperlyConfigured saying what to set."""
    env_vars = dict(os.environ if environ is None else environ)
    env = env_vars.get("QINGQUAN_ENV", "development").strip().lower()
    data_dir = Path(env_vars.get("QINGQUAN_DATA_DIR", "var")).resolve()
    database_url = env_vars.get("DATABASE_URL") or None
    redis_url = env_vars.get("REDIS_URL") or None
    secret = env_vars.get("QINGQUAN_SECRET_KEY", "")
    hosts = _split(env_vars.get("QINGQUAN_ALLOWED_HOSTS", ""))

    if env == PRODUCTION:
        problems = []
        if len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < 5:
            problems.append(
                f"QINGQUAN_SECRET_KEY: a random secret of at least {MIN_SECRET_LENGTH} "
                "characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))')"
            )
        if not hosts or "*" in hosts:
            problems.append("QINGQUAN_ALLOWED_HOSTS: the host names served, comma-separated")
        if not database_url or database_url.startswith("sqlite"):
            problems.append(
                "DATABASE_URL: a PostgreSQL database, e.g. postgres://user:pass@host:5432/qingquan"
            )
        if problems:
            raise ImproperlyConfigured(
                "Qingquan refuses to start in production mode (QINGQUAN_ENV=production). "
                "Set:\n  - " + "\n  - ".join(problems)
            )
    else:
        secret = secret or _embedded_secret(data_dir)
        hosts = hosts or ["127.0.0.1", "localhost", "[::1]", "testserver"]

    return Config(
        env=env,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret,
        allowed_hosts=hosts,
        debug=env_vars.get("QINGQUAN_DEBUG", "") == "1" and env != PRODUCTION,
        demo_accounts=_number(env_vars, "QINGQUAN_DEMO_ACCOUNTS", 3000),
        demo_network=env_vars.get("QINGQUAN_DEMO_NETWORK", "").strip() or "Net6",
        db_pool_min=_number(env_vars, "QINGQUAN_DB_POOL_MIN", 4),
        db_pool_size=_number(env_vars, "QINGQUAN_DB_POOL_SIZE", 16),
        http_threads=max(1, _number(env_vars, "QINGQUAN_HTTP_THREADS", 2)),
        http_long_threads=max(1, _number(env_vars, "QINGQUAN_HTTP_LONG_THREADS", 4)),
        email_host=env_vars.get("QINGQUAN_EMAIL_HOST", "").strip(),
        email_port=_number(env_vars, "QINGQUAN_EMAIL_PORT", 25),
        network_merge_window_hours=_number(env_vars, "QINGQUAN_NETWORK_MERGE_WINDOW_HOURS", 12),
        notice_lead_hours=_number(env_vars, "QINGQUAN_NOTICE_LEAD_HOURS", 24),
        notice_lead_clock=_choice(
            env_vars, "QINGQUAN_NOTICE_LEAD_CLOCK", ("calendar", "working_days")
        ),
        sms_endpoint=env_vars.get("QINGQUAN_SMS_ENDPOINT", "").strip()
        or (
            "https://dysmsapi.aliyuncs.com/" if env == PRODUCTION else "http://127.0.0.1:8125/sms/"
        ),
        sms_access_key_id=env_vars.get("QINGQUAN_SMS_ACCESS_KEY_ID", "").strip() or "fake",
        sms_access_key_secret=env_vars.get("QINGQUAN_SMS_ACCESS_KEY_SECRET", "").strip() or "fake",
        sms_sign_name=env_vars.get("QINGQUAN_SMS_SIGN_NAME", "").strip() or "宁波水务",
        sms_rate=_number(env_vars, "QINGQUAN_SMS_RATE", 200),
        wechat_endpoint=env_vars.get("QINGQUAN_WECHAT_ENDPOINT", "").strip()
        or ("https://api.weixin.qq.com/" if env == PRODUCTION else "http://127.0.0.1:8125/wechat/"),
        wechat_app_id=env_vars.get("QINGQUAN_WECHAT_APP_ID", "").strip() or "fake",
        wechat_app_secret=env_vars.get("QINGQUAN_WECHAT_APP_SECRET", "").strip() or "fake",
        wechat_oauth_url=env_vars.get("QINGQUAN_WECHAT_OAUTH_URL", "").strip()
        or (
            "https://open.weixin.qq.com/connect/oauth2/authorize"
            if env == PRODUCTION
            else "http://127.0.0.1:8125/wechat/connect/oauth2/authorize"
        ),
        **_platforms(env_vars, env),
        messaging_receipt_token=env_vars.get("QINGQUAN_MESSAGING_RECEIPT_TOKEN", "").strip()
        or ("" if env == PRODUCTION else "fake-receipts"),
        portal_inbox=env_vars.get("QINGQUAN_PORTAL_INBOX", "").strip(),
        wechatpay_config=env_vars.get("QINGQUAN_WECHATPAY_CONFIG", "").strip(),
        alipay_config=env_vars.get("QINGQUAN_ALIPAY_CONFIG", "").strip(),
    )
