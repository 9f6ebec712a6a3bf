"""Settings for the Xinlianxin back office.

One module for every environment. Everything that differs between a laptop and a
production server comes from environment variables (see .env.example); the defaults are
safe for local work and need nothing installed but Python: SQLite and a file-system
Celery broker under ./var/.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from backoffice.env import envbool, envchoice, envint, envlist, envrate, envsecret, envshare, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR", str(BASE_DIR / "var")))

# --- Environment ------------------------------------------------------------------------
APP_ENV = envchoice("APP_ENV", "development", {"development", "production"})
PRODUCTION = APP_ENV == "production"
DEBUG = False if PRODUCTION else envbool("DEBUG", True)

_DEV_SECRET = "dev-only-insecure-key-change-me-xinlianxin-0123456789abcdefghij"
SECRET_KEY = envsecret("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured(
        "APP_ENV=production needs SECRET_KEY (or SECRET_KEY_FILE) of at least 50 random characters."
    )
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("APP_ENV=production needs ALLOWED_HOSTS (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

# --- Applications -----------------------------------------------------------------------
INSTALLED_APPS = [
    "backoffice.admin_config.BackofficeAdminConfig",  # django.contrib.admin with our AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "simple_history",
    "axes",
    # Second factor (TOTP) for leaders, inspectors and administrators (apps.organization.second_factor).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "apps.core",
    "apps.audit",
    "apps.outbox",
    "apps.organization",
    "apps.notifications",
    "apps.appeals",
    "apps.tasks",
    "apps.authorization",
    "apps.followups",
    "apps.supervision",
    "apps.casefile",
    "apps.simulation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (django-csp; see Security headers)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "apps.core.middleware.SessionLifetimeMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # An expired password sends every admin page to the change-password page.
    "apps.organization.login.PasswordExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes must be last: it turns a lockout signalled by the backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
AUTH_USER_MODEL = "organization.User"

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("SQLITE_PATH", str(BASE_DIR / "backoffice.sqlite3")),
            "OPTIONS": {
                # web, worker and beat share one file: wait for locks instead of failing,
                # and take the write lock at BEGIN so two writers never deadlock on upgrade.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not ":memory:": tests with a real Celery worker thread need the busy
            # timeout, which SQLite's shared-cache in-memory mode ignores.
            # One file per test process, so two runs side by side do not share it.
            "TEST": {"NAME": str(BASE_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication and passwords (MLPS 2.0 8.1.4.1) -------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "apps.core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    # None of the last PASSWORD_HISTORY_COUNT passwords again (MLPS 8.1.4.1a).
    {"NAME": "apps.organization.login.PasswordHistoryValidator"},
]
LOGIN_URL = "admin:login"
# A password older than this must be changed before any admin page opens (0: never expires).
PASSWORD_MAX_AGE_DAYS = envint("PASSWORD_MAX_AGE_DAYS", 90, minimum=0)
PASSWORD_HISTORY_COUNT = envint("PASSWORD_HISTORY_COUNT", 5, minimum=1)

# Second factor: TOTP (RFC 6238) through django-otp. Who needs it is decided in one place,
# apps.organization.second_factor.requires_second_factor.
OTP_TOTP_ISSUER = envstr("OTP_TOTP_ISSUER", "心连心 12345")
# django-otp's own per-device back-off (2^n seconds after n wrong codes) would let anyone who
# knows a password lock the device for days from many addresses; wrong codes count toward
# the axes lockout instead, per account and address (apps.organization.login.LoginThrottle).
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Lockout (MLPS 8.1.4.1b), so that nobody can lock another person out from elsewhere:
# - 5 failures (wrong passwords or wrong codes) for one account from one address lock that
#   account on that address for 30 minutes; the same account elsewhere is not locked;
# - 30 failures from one address within an hour, over all accounts, lock that address for
#   every account until its last hour has fewer.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_ADDRESS_FAILURE_LIMIT = envint("LOGIN_ADDRESS_FAILURE_LIMIT", 30, minimum=1)
LOGIN_ADDRESS_WINDOW = timedelta(minutes=envint("LOGIN_ADDRESS_WINDOW_MINUTES", 60, minimum=1))
AXES_HANDLER = "apps.organization.login.LoginThrottle"
# The failure log (one row per failure, with its address) is what the per-address limit counts.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The client address as RequestContextMiddleware reads it (X-Real-IP from nginx in production).
AXES_CLIENT_IP_CALLABLE = "apps.organization.login.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # unlocking goes through organization.services.staff_unlock (logged)

# Sessions: idle timeout (sliding) plus an absolute cap, both configurable.
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT = envint("SESSION_ABSOLUTE_TIMEOUT", 12 * 3600, minimum=300)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
# Renewed at most once a SESSION_RENEW_INTERVAL by SessionLifetimeMiddleware, not written
# on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_INTERVAL = envint("SESSION_RENEW_INTERVAL", 60, minimum=1)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# --- django-guardian and django-simple-history ------------------------------------------
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: nothing here is public by object
GUARDIAN_RAISE_403 = False
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_DATE_INDEX = "composite"
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files (vendored: no CDN on a government intranet) ----------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security headers -------------------------------------------------------------------
# Content-Security-Policy on every response (django-csp 4; Django 5.2 has none built in).
# Nothing inline: scripts and styles are files under static/ (apps/core/static/xlx/); a
# template that truly needs an inline block gives it nonce="{{ request.csp_nonce }}" (the
# nonce enters the header only on pages that use it). The one exception is the error
# pages' <style>, which must render without static files or a request: allowed by its hash.


def _error_page_style_hash() -> str:
    import base64
    import hashlib
    import re

    page = (BASE_DIR / "templates" / "errors" / "page.html").read_text(encoding="utf-8")
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    return f"'sha256-{digest}'"


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE, _error_page_style_hash()],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = True
    if envbool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Celery -----------------------------------------------------------------------------
# Default: the file-system transport, so worker and beat run with nothing installed.
# Production: CELERY_BROKER_URL=redis://host:6379/0.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery-control"),
    }
    # One local worker, nothing to control remotely; and kombu's file-system transport can
    # read the pidbox exchange file half-written while it is being rewritten, which stops
    # the worker with a JSONDecodeError at start-up (celery/kombu#1551, dvc-task#73).
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
elif CELERY_BROKER_URL.startswith("redis"):
    # Longer than any task runs, so a slow task is not redelivered while still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3 * 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = envint("CELERY_BROKER_CONNECTION_TIMEOUT", 3, minimum=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True  # every consumer is idempotent (apps.outbox.consumers)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# How often the outbox relay sweeps for jobs that could not be published at commit.
OUTBOX_RELAY_INTERVAL_SECONDS = envint("OUTBOX_RELAY_INTERVAL_SECONDS", 10, minimum=1)
OUTBOX_PUBLISH_ON_COMMIT = envbool("OUTBOX_PUBLISH_ON_COMMIT", True)

# System jobs are a static schedule in code (a handful of rows, one beat process).
CELERY_BEAT_SCHEDULE = {
    # Publishes outbox rows that could not be published right after their commit
    # (broker down, process killed). Cheap when nothing is pending.
    "outbox-relay": {"task": "outbox.relay_pending", "schedule": float(OUTBOX_RELAY_INTERVAL_SECONDS)},
    # Marks missed time limits and issues reminders; catches up after downtime.
    "sla-sweep": {"task": "tasks.sla_sweep", "schedule": 60.0},
    # Reminds leaders of approval requests pending too long, then hands them up.
    "approval-sweep": {"task": "authorization.approval_sweep", "schedule": 300.0},
    # Formality checks over return visits and the re-visit sample; idempotent.
    "visit-formality-sweep": {"task": "followups.formality_sweep", "schedule": 3600.0},
    # Raises the supervision ladder (督办 five working days after an unanswered 催办, then
    # 通报); idempotent (one row per step, unique).
    "supervision-sweep": {"task": "supervision.ladder_sweep", "schedule": 300.0},
    # Nightly walk of the action log's hash chain; a break raises a ChainAlert for the audit admins.
    "audit-chain-verify": {"task": "audit.verify_chain", "schedule": crontab(hour=2, minute=30)},
}

# Approval requests pending this many working hours remind the leader; as long again
# and they go up to the grantor's superior.
APPROVAL_REMIND_WORKING_HOURS = envint("APPROVAL_REMIND_WORKING_HOURS", 4, minimum=1)

# --- Return visits (apps.followups) -------------------------------------------------------
# Share of direct answers called back (deterministic by tracking number), and of completed
# visits re-visited by a second agent.
FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE = envshare("FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE", 0.10)
FOLLOWUP_RECHECK_SAMPLE_RATE = envshare("FOLLOWUP_RECHECK_SAMPLE_RATE", 0.05)
FOLLOWUP_SAMPLE_SALT = envstr("FOLLOWUP_SAMPLE_SALT", "xlx-visits")
# Formality checks: a reached call recorded faster than this after it started; agents with at
# least this many rated visits in the window are tested for uniform ratings; the same words
# (at least this long) used this many times by one agent.
FOLLOWUP_MIN_CALL_SECONDS = envint("FOLLOWUP_MIN_CALL_SECONDS", 60, minimum=0)
FOLLOWUP_UNIFORM_MIN_SAMPLE = envint("FOLLOWUP_UNIFORM_MIN_SAMPLE", 30, minimum=5)
FOLLOWUP_REPEATED_WORDS_MIN = envint("FOLLOWUP_REPEATED_WORDS_MIN", 3, minimum=2)
FOLLOWUP_REPEATED_WORDS_MIN_LENGTH = envint("FOLLOWUP_REPEATED_WORDS_MIN_LENGTH", 6, minimum=1)
FOLLOWUP_CHECK_WINDOW_DAYS = envint("FOLLOWUP_CHECK_WINDOW_DAYS", 90, minimum=1)
# Messages to citizens (reply ready, visit coming, reopened): a dotted path to a callable
# send(phone=..., text=..., kind=..., tracking_number=...). The default appends to a file.
CITIZEN_MESSAGE_SENDER = envstr("CITIZEN_MESSAGE_SENDER", "apps.followups.senders.file_sender")
CITIZEN_MESSAGE_LOG = envstr("CITIZEN_MESSAGE_LOG", str(VAR_DIR / "citizen-messages.log"))
# The public progress page (/progress/): lookups allowed per client address and per
# tracking number (django-ratelimit rates, e.g. "20/h"). Needs a cache shared by all web
# processes in production (CACHE_URL=redis://...).
PROGRESS_RATE_PER_IP = envrate("PROGRESS_RATE_PER_IP", "20/h")
PROGRESS_RATE_PER_NUMBER = envrate("PROGRESS_RATE_PER_NUMBER", "10/h")
# Behind nginx in production the client address is X-Real-IP (as RequestContextMiddleware reads it).
RATELIMIT_IP_META_KEY = envstr("RATELIMIT_IP_META_KEY") or ("HTTP_X_REAL_IP" if PRODUCTION else "REMOTE_ADDR")
# Showing a citizen's contact details (logged, with a reason): at most this many per user
# in the period, so that one account, or one stolen session, cannot harvest numbers.
CONTACT_REVEAL_RATE = envrate("CONTACT_REVEAL_RATE", "30/h")
# Messages stay on the server (in the session), never in a cookie: signed is not secret.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The supervision ladder (催办 → 督办 → 通报) starts from reminders of the last N days only,
# so going live on a database with a history does not raise old misses all at once.
SUPERVISION_LOOKBACK_DAYS = envint("SUPERVISION_LOOKBACK_DAYS", 30, minimum=1)

# --- Cache -------------------------------------------------------------------------------
# Process-local by default; CACHE_URL=redis://host:6379/1 in production so that throttles
# count across web processes.
CACHE_URL = envstr("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "xlx"}
    )
}

# --- Working-day calendar ----------------------------------------------------------------
# Office hours used to count "working hours" (approval reminders): two blocks a day.
WORKING_HOURS = [("08:30", "12:00"), ("14:00", "17:30")]

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = envchoice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.request_context.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Personal data at rest and its retention ---------------------------------------------
# Citizens' phones and ID numbers are AES-256-GCM encrypted in the database
# (apps.core.encrypted). XLX_DATA_KEYS: comma-separated base64 keys of 32 random bytes,
# newest first; older keys stay listed until `manage.py rotate_data_key` has re-sealed
# every row. XLX_BLIND_INDEX_KEY: a separate key for the HMAC that exact lookups use.
# Make one with: python -c "import os, base64; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"
_DEV_DATA_KEY = "DWyvLjBQuWC2lnDUQh_UECi_IperFwlKbGUdoCpx0P8="
_DEV_INDEX_KEY = "dTWzEYuskgLpNWOeGs3fzPiu-KbmgydcSyOd5azpsj0="
XLX_DATA_KEYS = envlist("XLX_DATA_KEYS", [] if PRODUCTION else [_DEV_DATA_KEY])
XLX_BLIND_INDEX_KEY = envsecret("XLX_BLIND_INDEX_KEY", "" if PRODUCTION else _DEV_INDEX_KEY)
if PRODUCTION and (not XLX_DATA_KEYS or _DEV_DATA_KEY in XLX_DATA_KEYS):
    raise ImproperlyConfigured("APP_ENV=production needs XLX_DATA_KEYS (its own keys, not the development key).")
if PRODUCTION and (not XLX_BLIND_INDEX_KEY or XLX_BLIND_INDEX_KEY == _DEV_INDEX_KEY):
    raise ImproperlyConfigured("APP_ENV=production needs XLX_BLIND_INDEX_KEY (its own key, not the development key).")
if XLX_BLIND_INDEX_KEY in XLX_DATA_KEYS:
    raise ImproperlyConfigured("XLX_BLIND_INDEX_KEY must differ from every key in XLX_DATA_KEYS.")

# Personal data of appeals closed this many years ago is anonymised (PIPL Art. 19, 47):
# `manage.py anonymise_closed_appeals`, monthly on beat.
PERSONAL_DATA_RETENTION_YEARS = envint("PERSONAL_DATA_RETENTION_YEARS", 3, minimum=1)
CELERY_BEAT_SCHEDULE["anonymise-closed-appeals"] = {
    "task": "appeals.anonymise_closed_appeals",
    "schedule": crontab(day_of_month=1, hour=3, minute=15),
}
