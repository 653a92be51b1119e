"""Django settings for Qingquan. Everything that varies comes from the environment
through qingquan.config (see docs/operations.md for the variables)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import dj_database_url

from qingquan import config as _config

CONFIG = _config.read()
BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = CONFIG.data_dir

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts
QINGQUAN_ENV = CONFIG.env
QINGQUAN_EMBEDDED = CONFIG.embedded
# How many generated customer accounts the demo loads (tests use fewer).
QINGQUAN_DEMO_ACCOUNTS = CONFIG.demo_accounts
# The EPANET network WNTR ships that the demo places over Ningbo (Net6, ky10, Net3 …).
QINGQUAN_DEMO_NETWORK = CONFIG.demo_network
NETWORK_MERGE_WINDOW_HOURS = CONFIG.network_merge_window_hours

# Qingquan's apps come first: their templates and translations take precedence over
# Django's own (e.g. our 退出登录 over the admin's 注销 for "Log out").
INSTALLED_APPS = [
    "qingquan.core",
    "qingquan.staff",
    "qingquan.areas",
    "qingquan.customers",
    "qingquan.tickets",
    "qingquan.partners",
    "qingquan.open311",
    "qingquan.telephony",
    "qingquan.console",
    "qingquan.knowledge",
    "qingquan.surveys",
    "qingquan.reports",
    "qingquan.network",
    "qingquan.dispatch",
    "qingquan.messaging",
    "qingquan.notices",
    "qingquan.portal",
    "qingquan.payments",
    "qingquan.connections",
    "qingquan.core.apps.QingquanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "qingquan.core.apps.AxesConfig",
    "django_htmx",
    # django-ninja's own Swagger UI files: the API docs work offline (no CDN).
    "ninja",
    "django_tasks",
    "qingquan.core.apps.TasksDatabaseConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "qingquan.core.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "qingquan.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "qingquan.customers.privacy.DisclosureMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qingquan.urls"
ASGI_APPLICATION = "qingquan.asgi.application"
AUTH_USER_MODEL = "staff.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "qingquan.staff.context_processors.navigation",
                "qingquan.portal.auth.context",
            ],
        },
    },
]

# Databases -----------------------------------------------------------------------------
if CONFIG.database_url:
    DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            # Django's SQLite backend with the process's writers queued on a lock
            # (docs/decisions/0006-sqlite-writer-queue.md).
            "ENGINE": "qingquan.core.db.sqlite3",
            "NAME": str(DATA_DIR / "qingquan.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers go on while the worker writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue instead of failing halfway through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["ENGINE"] = "qingquan.core.db.sqlite3"  # also for a sqlite:// URL
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every concurrent request runs in its own thread; persistent per-thread
    # connections (CONN_MAX_AGE) leak until PostgreSQL refuses new clients. A pool per
    # process bounds them instead (docs/decisions/0005-postgresql-pool.md).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        # Opened at start (and by the warm-up, decision 0010): a burst does not wait for
        # its connections to be made one by one.
        "min_size": CONFIG.db_pool_min,
        "max_size": CONFIG.db_pool_size,
        "timeout": 30,
    }
    # A pooled connection is checked as it is taken (one empty round trip): after a
    # PostgreSQL restart no request gets a dead connection, it waits for a new one instead.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Threads of a web process that run requests (qingquan.core.asgi_handler; decision 0015):
# a few for ordinary requests, a pool of their own for long ones (exports, files, the
# statistics, calls to other services). On PostgreSQL keep both together at most the
# connection pool's size: a thread holds a connection per request.
HTTP_THREADS = CONFIG.http_threads
HTTP_LONG_THREADS = CONFIG.http_long_threads
HTTP_LONG_PATHS = (
    r"\.(pdf|xlsx|csv|ogg|zip)$|/export|/import|/download|/invoices/|/recordings/|^/reports/"
    r"|^/portal/pay|^/payments/(console|staff/reconciliation)/|^/telephony/(simulator|flows)/"
)

# Background work and push ----------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # Periodic jobs have a queue (and a worker thread) of their own, so they never
        # wait behind bulk work (docs/architecture.md, "Background work").
        "QUEUES": ["default", "periodic"],
    }
}
if CONFIG.redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CONFIG.redis_url]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.redis_url,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Authentication ----------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, the signed-in user read with a precompiled statement.
    "qingquan.staff.backends.StaffBackend",
]
# Agents share the call centre's address: lock the account name, not the IP, or one
# mistyped password would lock out the whole night shift.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# axes.W006 asks for IP-based lockout too; see docs/decisions/0002-lockout-by-account.md.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
SESSION_COOKIE_AGE = 60 * 60 * 12  # one shift and a half
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Django's database sessions, read with a precompiled statement (core/sessions.py).
SESSION_ENGINE = "qingquan.core.sessions"

# Language and time -----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS: list[Path] = []  # each app keeps its catalogue in its own locale/
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# Telephony: the IVR (电脑导航) lines, its queue and its prompts (qingquan.telephony) -----------
TELEPHONY_IVR_LINES = 4  # automatic lines; one more caller waits or hears busy:
TELEPHONY_LINES_FULL = "busy"  # "busy" (486) or "wait" (queued for the next free line)
TELEPHONY_QUEUE_MAX_WAIT = 120  # seconds in a queue before it overflows
TELEPHONY_EXPECTED_SECONDS_PER_CALLER = 60  # to estimate the wait of a queue position
TELEPHONY_CALLBACK_OFFER_SECONDS = 90  # "press 1 to be called back" past this wait
TELEPHONY_PROMPT_DIR = DATA_DIR / "prompts"  # synthesised and uploaded prompt audio
TELEPHONY_RECORDING_DIR = DATA_DIR / "recordings"
TELEPHONY_TTS_VOICE = "cmn"  # espeak-ng voice
TELEPHONY_NOTICE_LOOKUP = ""  # dotted path replacing the qingquan.notices lookup
TELEPHONY_LINE_HEARTBEAT_SECONDS = 60  # a line silent longer than this is shown as down
TELEPHONY_CALLBACK_ATTEMPTS = 3  # "no answer" puts a callback request back until this many tries
TELEPHONY_DIALER = ""  # dotted path of dial(*, call_id, extension, number): places callbacks
# Recordings are kept this many days by the top-level kind of the contact's cases (the
# longest of them), "" for contacts without a case; the periodic job deletes older ones.
TELEPHONY_RECORDING_RETENTION_DAYS = {"": 180, "complaint": 730, "repair": 365}
# Outside production the files are served straight from the apps, so no collectstatic
# step can be forgotten; production collects them at start.
WHITENOISE_USE_FINDERS = not CONFIG.production
if not CONFIG.production:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = CONFIG.debug

# Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if CONFIG.production:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS]

# Outgoing mail (daily and monthly reports): SMTP when a host is configured; otherwise
# each message is written to $QINGQUAN_DATA_DIR/mail/, so the demo never fails on a
# missing mail server.
EMAIL_HOST = CONFIG.email_host
EMAIL_PORT = CONFIG.email_port
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = "qingquan@localhost"

# Interruption notices (qingquan/notices): per kind, the lead time a notice must be
# published before it starts (on the calendar or on working days) and whether its
# messages go out in the quiet hours too (urgent). A later notice needs a reason and a
# supervisor's approval on the record.
NOTICES_KINDS = {
    "planned": {
        "lead_hours": CONFIG.notice_lead_hours,
        "clock": CONFIG.notice_lead_clock,
        "urgent": False,
    },
    "unplanned": {"lead_hours": 0, "clock": "calendar", "urgent": True},
    "low_pressure": {"lead_hours": 0, "clock": "calendar", "urgent": False},
    "water_quality": {"lead_hours": 0, "clock": "calendar", "urgent": True},
}

# Outbound messages (qingquan/messaging): the SMS gateway (Alibaba Cloud's SMS API, or
# the local fake gateway of `qingquan manage messaging_fake` outside production), WeChat
# template messages, the provider rates per channel, quiet hours for non-urgent messages.
MESSAGING = {
    "SMS_ENDPOINT": CONFIG.sms_endpoint,
    "SMS_ACCESS_KEY_ID": CONFIG.sms_access_key_id,
    "SMS_ACCESS_KEY_SECRET": CONFIG.sms_access_key_secret,
    "SMS_SIGN_NAME": CONFIG.sms_sign_name,
    # Our message templates -> the provider's approved template codes.
    "SMS_TEMPLATES": {
        "notice_published": "SMS_QQ_NOTICE_PUBLISHED",
        "notice_updated": "SMS_QQ_NOTICE_UPDATED",
        "notice_restored": "SMS_QQ_NOTICE_RESTORED",
        "portal_login_code": "SMS_QQ_PORTAL_LOGIN_CODE",
        "callback_survey": "SMS_QQ_CALLBACK_SURVEY",
        "agent_answer": "SMS_QQ_AGENT_ANSWER",
    },
    "WECHAT_ENDPOINT": CONFIG.wechat_endpoint,
    "WECHAT_APP_ID": CONFIG.wechat_app_id,
    "WECHAT_APP_SECRET": CONFIG.wechat_app_secret,
    "WECHAT_TEMPLATES": {},
    "WECHAT_OAUTH_URL": CONFIG.wechat_oauth_url,
    # Weibo and the Alipay life account: polled for messages and mentions (unset: off).
    "WEIBO_ENDPOINT": CONFIG.weibo_endpoint,
    "WEIBO_ACCESS_TOKEN": CONFIG.weibo_access_token,
    "ALIPAY_LIFE_ENDPOINT": CONFIG.alipay_life_endpoint,
    "ALIPAY_LIFE_APP_ID": CONFIG.alipay_life_app_id,
    "ALIPAY_LIFE_KEY": CONFIG.alipay_life_key,
    "RATE_PER_SECOND": {
        "sms": CONFIG.sms_rate,
        "wechat": 50,
        "email": 20,
        "weibo": 5,
        "alipay": 20,
    },
    # Requests in flight to one provider: the rate holds when a round trip is slower
    # than the pacing interval (5 ms at 200/s).
    "SEND_CONCURRENCY": 4,
    "QUIET_HOURS": (22, 7),
    "MAX_ATTEMPTS": 8,
    "BACKOFF_SECONDS": 10,
    "RECEIPT_TOKEN": CONFIG.messaging_receipt_token,
    "FAKE_PORT": 8125,
    "FAKE_RECEIPTS_TO": "http://127.0.0.1:8000/messaging/receipts",
}

# The online service hall (qingquan/portal) and online payments (qingquan/payments).
QINGQUAN_PORTAL_INBOX = CONFIG.portal_inbox
# The service area a resident's map pin must fall in (west, south, east, north in
# degrees); None = the pipes' extent with a margin, or the city's box without a network.
QINGQUAN_SERVICE_AREA: tuple[float, float, float, float] | None = None
# Merchant settings of WeChat Pay (mchid, appid, private_key, cert_serial_no, apiv3_key,
# notify_url) and Alipay (appid, private_key, alipay_public_key, notify_url); None = the
# local sandbox (demo, tests; refused in production).
QINGQUAN_WECHATPAY = (
    json.loads(Path(CONFIG.wechatpay_config).read_text()) if CONFIG.wechatpay_config else None
)
QINGQUAN_ALIPAY = (
    json.loads(Path(CONFIG.alipay_config).read_text()) if CONFIG.alipay_config else None
)
QINGQUAN_PAYMENTS_SANDBOX_SECRET = ""  # "" = derived from SECRET_KEY

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"qingquan": {"level": "INFO"}},
}

# Repair dispatch: the suggestion estimates travel as straight-line distance × a road
# factor at an average speed (stated as such on the screen; a routing service would
# replace it in production); photos from the crew app are at most this large (bytes).
DISPATCH_ROAD_FACTOR = 1.4
DISPATCH_SPEED_KMH = 30.0
DISPATCH_PHOTO_MAX_BYTES = 8 * 1024 * 1024
