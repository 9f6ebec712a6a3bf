"""The production configuration passes Django's deployment checklist, and the models and
migrations agree."""

from __future__ import annotations

import base64
import importlib
import os
import secrets
import subprocess
import sys

from django.conf import settings as django_settings

_SETTINGS_VARS = {
    "APP_ENV",
    "DEBUG",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "SECRET_KEY_FALLBACKS",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "SQLITE_PATH",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "BEHIND_TLS_PROXY",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
}


def manage(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    clean.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        SQLITE_PATH=str(tmp_path / "check.sqlite3"),
        VAR_DIR=str(tmp_path / "var"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )


def production_env() -> dict:
    key = secrets.token_urlsafe(48)
    assert len(key) == 64
    return {
        "APP_ENV": "production",
        "SECRET_KEY": key,
        "ALLOWED_HOSTS": "xlx.example.gov.cn",
        "XLX_DATA_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "XLX_BLIND_INDEX_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def test_the_production_configuration_passes_the_deployment_checklist(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "no issues" in output


def test_the_deployment_checklist_catches_a_development_configuration(tmp_path):
    # Guards the test above: the same command does fail when the settings are unsafe.
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W018" in output  # DEBUG on


def test_the_migrations_match_the_models(tmp_path):
    result = manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_passwords_are_hashed_with_argon2_in_production():
    # tests/conftest.py swaps in MD5 for speed; read what the settings module itself says.
    module = importlib.import_module("backoffice.settings")
    assert module.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    from django.contrib.auth.hashers import Argon2PasswordHasher

    Argon2PasswordHasher()._load_library()  # argon2-cffi is installed


def test_the_deployment_checklist_includes_the_separation_of_duties_checks(db):
    # xlx.W001 runs with `check --deploy` too: an active superuser shows there.
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from apps.organization.models import User

    call_command("check", "--tag", "security")  # the role table: clean
    User.objects.create_superuser("root", password="Xlx#2026river")
    try:
        call_command("check", "--deploy", "--tag", "security", "--fail-level", "WARNING")
    except SystemCheckError as exc:
        assert "xlx.W001" in str(exc)
    else:
        raise AssertionError("check --deploy did not warn about the active superuser")
