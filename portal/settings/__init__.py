"""Settings for the portal, read from the environment (django-environ).

Every value has an embedded default good for a laptop (SQLite under var/, a Celery
broker on the filesystem, console email). `portal.settings.production` imports this
module and refuses to start without the values a real deployment needs.
The README lists every setting.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():  # pragma: no cover - developer convenience
    environ.Env.read_env(env_file)

PRODUCTION = False

# A laptop default; production.py refuses to start without its own.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")


def _database_from_env() -> dict:
    default = f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
    raw = env.str("DATABASE_URL", default=default)
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql", "psql"}:
        raise ImproperlyConfigured(
            "DATABASE_URL is malformed: expected postgres://USER@HOST:PORT/NAME or sqlite:///PATH"
        )
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several kinds
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc.__class__.__name__}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL is malformed: it names no database")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests run a real worker and syncs in threads: a file (not shared-cache memory, whose
        # table locks fail at once) lets them wait for each other like real processes do.
        config["TEST"] = {"NAME": str(Path(config["NAME"]).with_name("test_" + Path(config["NAME"]).name))}
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
        # A server that does not answer (a partition, not a refusal) fails a connect in seconds, so a
        # request answers 503 and a worker's retry loop moves on instead of hanging. `?connect_timeout=`
        # in DATABASE_URL wins.
        options = config.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    return config


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "accounts.admin_site.PortalAdminConfig",  # django.contrib.admin, its site asking for the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "django_filters",
    "django_tables2",
    "portal",
    "accounts",
    "upstream",
    "sandbox",
    "outbox",
    "sync",
    "mirror",
    "orders",
    "rmas",
    "savedviews",
    "invoices",
    "inventory",
    "automation",
    "webhooks",
    "home",  # last: it listens to every sync resource and list table the others register
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # After Session, Authentication and OTP: Django turns an exception into a 500 at every middleware
    # layer, so this one loads the session and the user itself, and answers 503 during a database
    # outage for them as for views (portal.outage).
    "portal.outage.DatabaseOutageMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.IdleSessionTimeoutMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
                "portal.context_processors.navigation",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Every form that sets a password (change, reset, the admin's) and `addmember` apply these:
# 12+ characters, not only blanks, not like or containing the username, not a common password.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "accounts.validators.NotOnlyWhitespaceValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "accounts.validators.UsernameInPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password-reset e-mails (accounts.throttle): at most this many requests per address and per
# client IP in each window of PASSWORD_RESET_WINDOW seconds; past that the page answers as
# always but sends nothing.
PASSWORD_RESET_PER_ADDRESS = env.int("PASSWORD_RESET_PER_ADDRESS", default=3)
PASSWORD_RESET_PER_IP = env.int("PASSWORD_RESET_PER_IP", default=20)
PASSWORD_RESET_WINDOW = env.int("PASSWORD_RESET_WINDOW", default=3600)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after this many idle seconds (accounts.middleware.IdleSessionTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Login throttling (django-axes, accounts.lockout): a username is locked after AXES_FAILURE_LIMIT
# failures from any address, and an address after AXES_IP_FAILURE_LIMIT failures for any usernames,
# for a cool-off. A success clears that username's failures only.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_HANDLER = "accounts.lockout.PortalAxesHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"  # registration/locked_out.html, 429
AXES_VERBOSE = False

# Two-factor authentication (django-otp, accounts.twofactor): with PORTAL_REQUIRE_2FA, staff and
# managers confirm a code from an authenticator app (or a recovery code) after the password, and
# set the app up at their first sign-in. Off on a laptop (make run's demo users sign in with a
# password alone); production.py turns it on. A user who set up an app is asked for its code anyway.
PORTAL_REQUIRE_2FA = env.bool("PORTAL_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = "MBX AHEAD portal"  # the account's name in the authenticator app
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's key or recovery codes

# Content-Security-Policy (django-csp): scripts, styles and everything else from the portal's
# own origin only; no inline script or style anywhere (templates load static/ files), no
# plugins, no framing, no <base>. Django's admin works under it as it is.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # production.py serves the collected, hashed files instead
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}
DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"

# Email: console by default (password resets and notifications print to the terminal).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Keys that encrypt stored secrets (Fernet, comma-separated; the first encrypts, every one
# decrypts, so keys can be rotated). The laptop default is derived from a fixed phrase.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=["ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="])

# Celery: Redis (or any kombu URL) in compose and CI; the filesystem transport on a laptop.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="portal")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# django_celery_beat's DatabaseScheduler, made to live through a database outage (portal.beat).
CELERY_BEAT_SCHEDULER = "portal.beat:ResilientScheduler"
# Beat records a heartbeat at least every this many seconds (it wakes every half of it); /healthz
# answers 503 when beat has been silent for more than twice this.
BEAT_HEARTBEAT_INTERVAL = env.float("BEAT_HEARTBEAT_INTERVAL", default=10.0)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Cache: Redis when REDIS_URL is set, local memory otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
# "heartbeat" holds beat's last tick (portal.beat) where the web process reads it: Redis, or a file
# under var/ on a laptop (local memory is one process's own).
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "heartbeat": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "heartbeat": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "heartbeat"),
        },
    }

# During a database outage pages, form posts and webhooks answer 503 with this Retry-After (seconds).
DATABASE_OUTAGE_RETRY_AFTER = env.int("DATABASE_OUTAGE_RETRY_AFTER", default=30)

# Upstream client.
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=5.0)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=30.0)
UPSTREAM_MAX_ATTEMPTS = env.int("UPSTREAM_MAX_ATTEMPTS", default=4)
UPSTREAM_BACKOFF_BASE = env.float("UPSTREAM_BACKOFF_BASE", default=0.5)
UPSTREAM_BACKOFF_CAP = env.float("UPSTREAM_BACKOFF_CAP", default=30.0)
UPSTREAM_CALL_LOG_DAYS = env.int("UPSTREAM_CALL_LOG_DAYS", default=14)

# Sync engine: a WORKING run without a heartbeat for this long is considered dead.
SYNC_STALE_AFTER = env.int("SYNC_STALE_AFTER", default=600)  # seconds
SYNC_RUN_DAYS = env.int("SYNC_RUN_DAYS", default=30)  # days of sync runs kept (the latest per resource always)

# Home dashboard: at most one recount of an organization's tallies per this many seconds of changes.
HOME_TALLY_DEBOUNCE = env.float("HOME_TALLY_DEBOUNCE", default=5.0)

# Automation board: a running task counts as stuck after this many minutes, unless a manager set a
# limit for its task type; the board asks for changed rows every this many seconds while it is open.
AUTOMATION_STUCK_MINUTES = env.int("AUTOMATION_STUCK_MINUTES", default=60)
AUTOMATION_REFRESH_SECONDS = env.int("AUTOMATION_REFRESH_SECONDS", default=5)

# Outbox ("persist, then call"): retries of writes to the upstream.
OUTBOX_RETRY_BASE = env.float("OUTBOX_RETRY_BASE", default=5.0)  # seconds
OUTBOX_RETRY_CAP = env.float("OUTBOX_RETRY_CAP", default=600.0)  # seconds
OUTBOX_CLIENT_ATTEMPTS = env.int("OUTBOX_CLIENT_ATTEMPTS", default=2)  # quick retries inside one attempt
OUTBOX_GIVE_UP_AFTER = env.int("OUTBOX_GIVE_UP_AFTER", default=7 * 24 * 3600)  # seconds
OUTBOX_REDRIVE_GRACE = env.float("OUTBOX_REDRIVE_GRACE", default=20.0)  # seconds before redrive steps in

# How often beat asks the redrive to hand over again what no worker holds (lost tasks, dead senders).
DISPATCH_REDRIVE_INTERVAL = env.float("DISPATCH_REDRIVE_INTERVAL", default=30.0)  # seconds

# Fixed periodic jobs (django-celery-beat copies them into its tables, editable in the admin).
CELERY_BEAT_SCHEDULE = {
    "dispatch-redrive": {"task": "portal.redrive", "schedule": DISPATCH_REDRIVE_INTERVAL},
    "orders-reconcile-from-mirror": {"task": "orders.reconcile_from_mirror", "schedule": 60.0},
    "upstream-prune-call-log": {"task": "upstream.prune_call_log", "schedule": 24 * 3600.0},
    "sync-prune-runs": {"task": "sync.prune_runs", "schedule": 24 * 3600.0},
    "sync-first-runs": {"task": "sync.first_runs", "schedule": 10.0},
}

# Sandbox upstream (python manage.py runsandbox).
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8001")
SANDBOX_DB_PATH = env.str("SANDBOX_DB_PATH", default=str(VAR_DIR / "sandbox.sqlite3"))

# Demo organization (make run).
PORTAL_DEMO_PASSWORD = env.str("PORTAL_DEMO_PASSWORD", default="portal-demo-password")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
