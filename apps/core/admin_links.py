"""Links into the admin from code that runs outside a request (notifications, messages)."""

from __future__ import annotations

from django.db import models
from django.urls import reverse


def admin_change_url(obj: models.Model) -> str:
    """The admin change page of `obj` (e.g. /admin/tasks/task/42/change/)."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
