"""Links the admin draws to another object's page are shown only to those who may open it.

Django links a read-only foreign key to the related object's change page whoever is
looking (`AdminReadonlyField.get_admin_url` is given no request), and simple-history's
list of versions links every "changed by" to the staff page: a department's staff saw the
name of whoever signed a work order as a link answering 403, and the system account's
name as a link to a page that does not exist. One rule, `may_open`, decides both; where
it says no the name is shown as plain text.

Also the admin address of an object for code that runs outside a request (notifications).
"""

from __future__ import annotations

from django.contrib.admin import helpers
from django.db import models
from django.urls import NoReverseMatch, reverse

from apps.core.request_context import current_request

_django_get_admin_url = helpers.AdminReadonlyField.get_admin_url


def admin_change_url(obj: models.Model) -> str:
    """The admin change page of `obj` (e.g. /admin/tasks/task/42/change/)."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def may_open(request, obj, *, site) -> bool:
    """Whether the user may open `obj`'s change page on `site`: its admin's view (or
    change) permission for the object, and the object within the admin's queryset (the
    scope outside which the page answers 404)."""
    model_admin = site._registry.get(type(obj)) or site._registry.get(type(obj)._meta.concrete_model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request, obj):
        return False
    return model_admin.get_queryset(request).filter(pk=obj.pk).exists()


def change_url_if_allowed(request, obj, *, site) -> str:
    """The admin URL of `obj`'s change page, or "" when the user may not open it."""
    if obj is None or not may_open(request, obj, site=site):
        return ""
    opts = obj._meta
    try:
        return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def _readonly_field_link(self, remote_field, remote_obj):
    request = current_request()
    if request is None or not may_open(request, remote_obj, site=self.model_admin.admin_site):
        return str(remote_obj)
    return _django_get_admin_url(self, remote_field, remote_obj)


def install() -> None:
    """Make read-only foreign keys follow `may_open` (called once, from CoreConfig.ready)."""
    helpers.AdminReadonlyField.get_admin_url = _readonly_field_link
