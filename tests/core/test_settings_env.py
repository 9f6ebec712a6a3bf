"""Settings from the environment: typed readers fail at start-up, naming the variable."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from backoffice.env import envbool, envchoice, envint, envlist, envsecret, envstr

GOOD_KEY = "k" * 20 + "R4nd0m-Secret-Key-For-Tests_0123456789abcdefghijklmnop"
assert len(GOOD_KEY) >= 50
DATA_KEY = base64.urlsafe_b64encode(b"d" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()

# Variables the settings module reads: cleared so the developer's shell cannot leak in.
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
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "BEHIND_TLS_PROXY",
    "CELERY_BROKER_URL",
    "LOG_LEVEL",
    "DJANGO_SETTINGS_MODULE",
}

_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECRET_KEY_LEN": len(s.SECRET_KEY),
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "DB_ENGINE": s.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(s.DATABASES["default"]["NAME"]),
    "DB_HOST": s.DATABASES["default"].get("HOST", ""),
    "AXES_FAILURE_LIMIT": s.AXES_FAILURE_LIMIT,
    "SESSION_COOKIE_AGE": s.SESSION_COOKIE_AGE,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
}))
"""


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with exactly these variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    clean.update(DJANGO_SETTINGS_MODULE="backoffice.settings", VAR_DIR=str(tmp_path / "var"), **env)
    if env.get("APP_ENV") == "production":
        # Production refuses to start without its own data keys; these tests are about others.
        clean.setdefault("XLX_DATA_KEYS", DATA_KEY)
        clean.setdefault("XLX_BLIND_INDEX_KEY", INDEX_KEY)
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=django_settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def loaded(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def refused(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


# --- envbool ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_envbool_reads_true_values(monkeypatch, raw):
    monkeypatch.setenv("XLX_FLAG", raw)
    assert envbool("XLX_FLAG", default=False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off", ""])
def test_envbool_reads_false_values(monkeypatch, raw):
    monkeypatch.setenv("XLX_FLAG", raw)
    assert envbool("XLX_FLAG", default=True) is False


def test_envbool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("XLX_FLAG", raising=False)
    assert envbool("XLX_FLAG", default=True) is True
    assert envbool("XLX_FLAG", default=False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_envbool_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("XLX_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="XLX_FLAG") as excinfo:
        envbool("XLX_FLAG", default=False)
    assert raw in str(excinfo.value)


# --- envint -----------------------------------------------------------------------------


def test_envint_reads_an_integer(monkeypatch):
    monkeypatch.setenv("XLX_COUNT", " 42 ")
    assert envint("XLX_COUNT", 5) == 42


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_envint_uses_the_default_when_unset_or_blank(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("XLX_COUNT", raising=False)
    else:
        monkeypatch.setenv("XLX_COUNT", raw)
    assert envint("XLX_COUNT", 5) == 5


@pytest.mark.parametrize("raw", ["abc", "1.5", "5 minutes", "0x10"])
def test_envint_refuses_a_non_integer_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("XLX_COUNT", raw)
    with pytest.raises(ImproperlyConfigured, match="XLX_COUNT"):
        envint("XLX_COUNT", 5)


def test_envint_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("XLX_COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="XLX_COUNT") as excinfo:
        envint("XLX_COUNT", 5, minimum=1)
    assert "minimum" in str(excinfo.value)
    monkeypatch.setenv("XLX_COUNT", "1")
    assert envint("XLX_COUNT", 5, minimum=1) == 1


# --- envlist and envstr -----------------------------------------------------------------


def test_envlist_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("XLX_HOSTS", " a.example.gov.cn, b.example.gov.cn,, ,c ")
    assert envlist("XLX_HOSTS") == ["a.example.gov.cn", "b.example.gov.cn", "c"]


def test_envlist_uses_a_copy_of_the_default_only_when_unset(monkeypatch):
    default = ["localhost"]
    monkeypatch.delenv("XLX_HOSTS", raising=False)
    result = envlist("XLX_HOSTS", default)
    assert result == ["localhost"]
    result.append("evil")
    assert default == ["localhost"]
    assert envlist("XLX_HOSTS") == []
    # Set but empty means "none", not "the default".
    monkeypatch.setenv("XLX_HOSTS", "")
    assert envlist("XLX_HOSTS", default) == []


def test_envstr_reads_the_value_or_the_default(monkeypatch):
    monkeypatch.delenv("XLX_STR", raising=False)
    assert envstr("XLX_STR", "fallback") == "fallback"
    monkeypatch.setenv("XLX_STR", "value")
    assert envstr("XLX_STR", "fallback") == "value"


# --- envchoice --------------------------------------------------------------------------


def test_envchoice_accepts_an_allowed_value_and_defaults(monkeypatch):
    monkeypatch.delenv("XLX_MODE", raising=False)
    assert envchoice("XLX_MODE", "development", {"development", "production"}) == "development"
    monkeypatch.setenv("XLX_MODE", " production ")
    assert envchoice("XLX_MODE", "development", {"development", "production"}) == "production"


@pytest.mark.parametrize("raw", ["staging", "Production", "prod", ""])
def test_envchoice_refuses_other_values_naming_the_variable_and_the_choices(monkeypatch, raw):
    monkeypatch.setenv("XLX_MODE", raw)
    with pytest.raises(ImproperlyConfigured, match="XLX_MODE") as excinfo:
        envchoice("XLX_MODE", "development", {"development", "production"})
    assert "development, production" in str(excinfo.value)


# --- envsecret --------------------------------------------------------------------------


def test_envsecret_reads_the_variable(monkeypatch):
    monkeypatch.delenv("XLX_SECRET_FILE", raising=False)
    monkeypatch.setenv("XLX_SECRET", "s3cret")
    assert envsecret("XLX_SECRET", "default") == "s3cret"


def test_envsecret_uses_the_default_when_neither_is_set(monkeypatch):
    monkeypatch.delenv("XLX_SECRET", raising=False)
    monkeypatch.delenv("XLX_SECRET_FILE", raising=False)
    assert envsecret("XLX_SECRET", "default") == "default"


def test_envsecret_reads_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-docker-secret\n", encoding="utf-8")
    monkeypatch.delenv("XLX_SECRET", raising=False)
    monkeypatch.setenv("XLX_SECRET_FILE", str(secret))
    assert envsecret("XLX_SECRET", "default") == "from-a-docker-secret"


def test_envsecret_refuses_both_the_variable_and_the_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file", encoding="utf-8")
    monkeypatch.setenv("XLX_SECRET", "direct")
    monkeypatch.setenv("XLX_SECRET_FILE", str(secret))
    with pytest.raises(ImproperlyConfigured, match="XLX_SECRET_FILE") as excinfo:
        envsecret("XLX_SECRET")
    assert "not both" in str(excinfo.value)


def test_envsecret_refuses_a_missing_file(monkeypatch, tmp_path):
    monkeypatch.delenv("XLX_SECRET", raising=False)
    monkeypatch.setenv("XLX_SECRET_FILE", str(tmp_path / "does-not-exist"))
    with pytest.raises(ImproperlyConfigured, match="XLX_SECRET_FILE"):
        envsecret("XLX_SECRET", "default")


def test_envsecret_refuses_a_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("XLX_SECRET", raising=False)
    monkeypatch.setenv("XLX_SECRET_FILE", str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match="XLX_SECRET_FILE"):
        envsecret("XLX_SECRET", "default")


@pytest.mark.parametrize("content", ["", "  \n\n"])
def test_envsecret_refuses_an_empty_file(monkeypatch, tmp_path, content):
    secret = tmp_path / "secret"
    secret.write_text(content, encoding="utf-8")
    monkeypatch.delenv("XLX_SECRET", raising=False)
    monkeypatch.setenv("XLX_SECRET_FILE", str(secret))
    with pytest.raises(ImproperlyConfigured, match="XLX_SECRET_FILE") as excinfo:
        envsecret("XLX_SECRET", "default")
    assert "empty" in str(excinfo.value)


# --- The settings module as a whole -----------------------------------------------------


def test_development_settings_need_no_environment(tmp_path):
    values = loaded(load_settings(tmp_path))
    assert values["DEBUG"] is True
    assert values["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"].endswith("backoffice.sqlite3")
    assert "localhost" in values["ALLOWED_HOSTS"]
    assert values["AXES_FAILURE_LIMIT"] == 5
    assert values["SESSION_COOKIE_AGE"] == 1800


def test_production_settings_load_with_a_key_and_hosts(tmp_path):
    values = loaded(
        load_settings(tmp_path, APP_ENV="production", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="xlx.example.gov.cn")
    )
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["xlx.example.gov.cn"]
    assert values["SESSION_COOKIE_SECURE"] is True


def test_production_never_runs_with_debug_on(tmp_path):
    values = loaded(
        load_settings(
            tmp_path, APP_ENV="production", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="xlx.example.gov.cn", DEBUG="true"
        )
    )
    assert values["DEBUG"] is False


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, APP_ENV="production", ALLOWED_HOSTS="xlx.example.gov.cn"))
    assert "SECRET_KEY" in stderr


def test_production_with_a_short_secret_key_refuses_to_start(tmp_path):
    stderr = refused(
        load_settings(tmp_path, APP_ENV="production", SECRET_KEY="x" * 49, ALLOWED_HOSTS="xlx.example.gov.cn")
    )
    assert "SECRET_KEY" in stderr


def test_production_refuses_the_development_secret_key(tmp_path):
    from backoffice import settings as module

    stderr = refused(
        load_settings(tmp_path, APP_ENV="production", SECRET_KEY=module._DEV_SECRET, ALLOWED_HOSTS="xlx.example.gov.cn")
    )
    assert "SECRET_KEY" in stderr


def test_production_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(GOOD_KEY + "\n", encoding="utf-8")
    values = loaded(
        load_settings(tmp_path, APP_ENV="production", SECRET_KEY_FILE=str(key_file), ALLOWED_HOSTS="xlx.example.gov.cn")
    )
    assert values["SECRET_KEY_LEN"] == len(GOOD_KEY)


def test_production_with_both_secret_key_and_its_file_refuses_to_start(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(GOOD_KEY, encoding="utf-8")
    stderr = refused(
        load_settings(
            tmp_path,
            APP_ENV="production",
            SECRET_KEY=GOOD_KEY,
            SECRET_KEY_FILE=str(key_file),
            ALLOWED_HOSTS="xlx.example.gov.cn",
        )
    )
    assert "SECRET_KEY_FILE" in stderr


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, APP_ENV="production", SECRET_KEY=GOOD_KEY))
    assert "ALLOWED_HOSTS" in stderr


def test_an_unknown_app_env_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, APP_ENV="staging"))
    assert "APP_ENV" in stderr


def test_an_unreadable_debug_flag_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, DEBUG="maybe"))
    assert "DEBUG='maybe'" in stderr


def test_a_non_numeric_lockout_limit_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, AXES_FAILURE_LIMIT="abc"))
    assert "AXES_FAILURE_LIMIT='abc'" in stderr


def test_a_zero_lockout_limit_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, AXES_FAILURE_LIMIT="0"))
    assert "AXES_FAILURE_LIMIT" in stderr


def test_database_url_is_parsed(tmp_path):
    values = loaded(load_settings(tmp_path, DATABASE_URL="postgres://xlx:pw@db.internal:5432/xinlianxin"))
    assert values["DB_ENGINE"] == "django.db.backends.postgresql"
    assert values["DB_NAME"] == "xinlianxin"
    assert values["DB_HOST"] == "db.internal"


def test_an_unparsable_database_url_refuses_to_start(tmp_path):
    stderr = refused(load_settings(tmp_path, DATABASE_URL="mongodb://db.internal/xinlianxin"))
    assert "DATABASE_URL" in stderr
