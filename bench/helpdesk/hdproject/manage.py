#!/usr/bin/env python
"""manage.py for the django-helpdesk bench project (run with bench/.venv-helpdesk)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/helpdesk
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
