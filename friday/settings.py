"""Django settings for Friday, read from FRIDAY_* environment variables (see README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("FRIDAY_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The key from the environment, else the one stored in the data dir, else a new one stored there."""
    from_env = os.environ.get("FRIDAY_SECRET_KEY")
    if from_env:
        return from_env
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("FRIDAY_DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("FRIDAY_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("FRIDAY_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "friday.core",
    "friday.accounts",
    "friday.parties",
    "friday.processes",
    "friday.deals",
    "friday.jobs",
    "friday.reminders",
    "friday.messaging",
    "friday.automation",
    "friday.billing",
    "friday.feedback",
    "friday.insights",
    "friday.strategy",
    "friday.duplicates",
    "friday.imports",
    "friday.setup",
    "friday.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "friday.core.middleware.FridayErrorMiddleware",
    "friday.core.middleware.BusinessTimeZoneMiddleware",
]

ROOT_URLCONF = "friday.urls"
WSGI_APPLICATION = "friday.wsgi.application"
ASGI_APPLICATION = "friday.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "friday.reminders.views.reminder_counts",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("FRIDAY_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'friday.sqlite3'}"
# Keep connections for a minute: reconnecting cost SQLite 3 ms of a 7.5 ms request (docs/performance.md).
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE avoids "database is locked" upgrades when the worker and the web app write at once.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;",
    }
    _db["TEST"] = {"NAME": os.environ.get("FRIDAY_TEST_SQLITE_NAME") or str(DATA_DIR / "test.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ---------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Login throttling: this many failures for one username within the window lock that username for the window.
FRIDAY_LOGIN_MAX_FAILURES = int(os.environ.get("FRIDAY_LOGIN_MAX_FAILURES", "5"))
FRIDAY_LOGIN_WINDOW_SECONDS = int(os.environ.get("FRIDAY_LOGIN_WINDOW_SECONDS", "900"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if _env_bool("FRIDAY_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Request bodies above this size are refused (413) before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- Locale and time --------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# FRIDAY_TIME_ZONE, FRIDAY_CURRENCY, FRIDAY_DEFAULT_REGION and FRIDAY_BUSINESS_NAME are the first values of the
# Business row (friday.core.business); after that the Business page changes them, not the environment.
TIME_ZONE = os.environ.get("FRIDAY_TIME_ZONE", "UTC")
# The business's currency (ISO 4217): the default for deals, later invoices.
FRIDAY_CURRENCY = os.environ.get("FRIDAY_CURRENCY", "GBP").upper()
# Customer lifetime value discounts each month's expected margin at this rate (0.01: 1% a month).
FRIDAY_CLV_DISCOUNT = os.environ.get("FRIDAY_CLV_DISCOUNT", "0.01")
# Won and lost columns of a deal board show the deals closed in this many days.
FRIDAY_BOARD_CLOSED_DAYS = int(os.environ.get("FRIDAY_BOARD_CLOSED_DAYS", "30"))
USE_I18N = True
USE_TZ = True
FRIDAY_DEFAULT_REGION = os.environ.get("FRIDAY_DEFAULT_REGION", "GB").upper()
# Processes that check an import's rows while the worker writes them (big files only); -1: one fewer than the
# machine's processors, 0: none (all in the worker).
FRIDAY_IMPORT_WORKERS = int(os.environ.get("FRIDAY_IMPORT_WORKERS", "-1"))

# --- Static files (our own, plus front-end packages from node_modules) -------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/mermaid", BASE_DIR / "node_modules" / "mermaid" / "dist"),
]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve straight from the finders: no collectstatic step is needed for `friday run`.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Background work --------------------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}


# --- Email ------------------------------------------------------------------------------------------------
def _email_settings(url: str) -> dict[str, object]:
    """smtp://user:pass@host:port[?tls=1|ssl=1], console://, memory:// or file:///path."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "memory":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": unquote(parts.path),
        }
    if scheme not in {"smtp", "smtps"}:
        raise ValueError(
            f"FRIDAY_EMAIL_URL: unknown scheme {scheme!r} (use smtp, smtps, console, memory or file)"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "127.0.0.1",
        "EMAIL_PORT": parts.port or (465 if scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": scheme == "smtps" or query.get("ssl") == "1",
        "EMAIL_USE_TLS": query.get("tls") == "1",
        "EMAIL_TIMEOUT": 30,
    }


globals().update(_email_settings(os.environ.get("FRIDAY_EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = os.environ.get("FRIDAY_FROM_EMAIL", "Friday <friday@localhost>")
# The business as its messages name it ({{ business.name }} … in message templates).
FRIDAY_BUSINESS_NAME = os.environ.get("FRIDAY_BUSINESS_NAME", "Our business")
FRIDAY_BUSINESS_EMAIL = os.environ.get("FRIDAY_BUSINESS_EMAIL", "")
FRIDAY_BUSINESS_PHONE = os.environ.get("FRIDAY_BUSINESS_PHONE", "")
FRIDAY_BUSINESS_WEBSITE = os.environ.get("FRIDAY_BUSINESS_WEBSITE", "")
# On invoices: the business's postal address (lines separated by "\n" or newlines), tax number, how to pay.
FRIDAY_BUSINESS_ADDRESS = os.environ.get("FRIDAY_BUSINESS_ADDRESS", "").replace("\\n", "\n")
FRIDAY_BUSINESS_TAX_ID = os.environ.get("FRIDAY_BUSINESS_TAX_ID", "")
FRIDAY_PAYMENT_DETAILS = os.environ.get("FRIDAY_PAYMENT_DETAILS", "").replace("\\n", "\n")
# Invoices: numbers are PREFIX + year + "-" + a gap-free sequence (2026-0001; credit notes CN-2026-0001).
FRIDAY_INVOICE_PREFIX = os.environ.get("FRIDAY_INVOICE_PREFIX", "")
FRIDAY_CREDIT_NOTE_PREFIX = os.environ.get("FRIDAY_CREDIT_NOTE_PREFIX", "CN-")
FRIDAY_INVOICE_TERMS_DAYS = int(os.environ.get("FRIDAY_INVOICE_TERMS_DAYS", "30"))
# The tax rate (percent) a new invoice line gets unless it says otherwise.
FRIDAY_TAX_RATE = os.environ.get("FRIDAY_TAX_RATE", "20")
# The message template an issued invoice is emailed with (a built-in text when there is none by this key).
FRIDAY_INVOICE_TEMPLATE = os.environ.get("FRIDAY_INVOICE_TEMPLATE", "invoice")
# How long a sender's claim on an outbox message lasts; a sender that died is taken over after this.
FRIDAY_OUTBOX_LEASE_SECONDS = int(os.environ.get("FRIDAY_OUTBOX_LEASE_SECONDS", "300"))
# Webhooks never call private, loopback or link-local addresses, except networks listed here on purpose
# (comma-separated CIDRs, e.g. "10.1.2.0/24" for the business's own internal service).
FRIDAY_WEBHOOK_ALLOWED_NETWORKS = os.environ.get("FRIDAY_WEBHOOK_ALLOWED_NETWORKS", "")
# Feedback links (/f/<token>/) answer without signing in: attempts are limited per client address and per link
# within a window (counted in Django's cache — the default local-memory cache counts per process).
FRIDAY_FEEDBACK_MAX_PER_IP = int(os.environ.get("FRIDAY_FEEDBACK_MAX_PER_IP", "60"))
FRIDAY_FEEDBACK_MAX_PER_TOKEN = int(os.environ.get("FRIDAY_FEEDBACK_MAX_PER_TOKEN", "10"))
FRIDAY_FEEDBACK_WINDOW_SECONDS = int(os.environ.get("FRIDAY_FEEDBACK_WINDOW_SECONDS", "3600"))
# The daily digest email goes out from this hour of the business's day (FRIDAY_TIME_ZONE), 0–23.
FRIDAY_DIGEST_HOUR = int(os.environ.get("FRIDAY_DIGEST_HOUR", "7"))
if not 0 <= FRIDAY_DIGEST_HOUR <= 23:
    raise ValueError("FRIDAY_DIGEST_HOUR: an hour of the day, 0 to 23")
# Links in messages (a feedback link) start with this address: what customers reach the web app at.
FRIDAY_BASE_URL = os.environ.get(
    "FRIDAY_BASE_URL", f"http://127.0.0.1:{os.environ.get('FRIDAY_PORT', '8000')}"
)

# --- Logging ----------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FRIDAY_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs each rendering step at INFO; its warnings (a missing font) still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
