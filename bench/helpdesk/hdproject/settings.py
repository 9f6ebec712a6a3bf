"""Minimal Django project hosting django-helpdesk 2.6.1 for the side-by-side bench.

Configured as helpdesk's installation docs ask (contrib.sites + SITE_ID, admin,
humanize, rest_framework, helpdesk, its URLs included, LOGIN_URL), with teams mode
off (it needs the optional pinax-teams extra). Everything else is helpdesk's
defaults, so the pages measured are the ones a stock install renders.

Database: HELPDESK_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/xlx_helpdesk).
"""

import os
from pathlib import Path

import dj_database_url

BENCH_DIR = Path(__file__).resolve().parent.parent  # bench/helpdesk
RESULTS_DIR = BENCH_DIR.parent / "results"  # bench/results (gitignored)

SECRET_KEY = os.environ.get("HELPDESK_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 32)
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # helpdesk: domain for links in e-mails
    "django.contrib.humanize",  # helpdesk templates
    "rest_framework",  # helpdesk's datatables JSON endpoint and API
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hdproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("HELPDESK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/xlx_helpdesk"),
        conn_max_age=600,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Loading 30,000 users: a cheap hasher. (The loader writes hashes itself; this
# keeps force_login/set_password cheap too. Not for production.)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SITE_ID = 1

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(RESULTS_DIR / "helpdesk-static")
MEDIA_URL = "/media/"
MEDIA_ROOT = str(RESULTS_DIR / "helpdesk-media")

LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

# E-mail: helpdesk sends notification mails on ticket creation; keep them in memory
# (the rendering and the send call still happen, nothing leaves the process).
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
SERVER_EMAIL = "helpdesk@example.com"

# django-helpdesk: teams mode needs the optional pinax-teams extra; off.
HELPDESK_TEAMS_MODE_ENABLED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
