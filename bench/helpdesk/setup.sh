#!/usr/bin/env bash
# Creates bench/.venv-helpdesk with django-helpdesk 2.6.1 and its pinned dependencies.
# Separate from the project's own environment on purpose: nothing here goes into the
# main requirements.txt. Idempotent: re-running only re-syncs the pins.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH="$(dirname "$HERE")"
VENV="$BENCH/.venv-helpdesk"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
"$VENV/bin/python" -m pip check
"$VENV/bin/python" - <<'PY'
import django, helpdesk, sys
from importlib.metadata import version
print(f"python {sys.version.split()[0]}, django {django.get_version()}, django-helpdesk {version('django-helpdesk')}")
PY
echo "ok: $VENV"
