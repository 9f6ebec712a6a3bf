"""What the authorization admin pages share: the read-only base with object actions,
the "open by default" filter, time and lateness display, the change-form template, and
the appeal picker of the instruction and consultation forms."""

from __future__ import annotations

from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.authorization import selectors
from apps.core.admin_actions import ObjectActionsMixin
from apps.core.admin_forms import DefaultChoiceFilter, HistoryAdmin, LargeTableAdmin
from apps.core.timefmt import local_minute
from apps.organization.models import User

R = User.Role
# The change form with the object-action buttons (templates/admin/authorization/).
CHANGE_FORM_WITH_BUTTONS = "admin/authorization/change_form.html"


def when(value) -> str:
    return local_minute(value) if value else "-"


def late_flag(is_late: bool):
    return format_html('<span class="late-flag">{}</span>', _("late")) if is_late else ""


class ScopedReadOnlyAdmin(ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    """Read-only pages; 404 for objects outside the user's scope on the change page, the
    history list, each historical version and every action URL. No deletes."""

    change_form_template = CHANGE_FORM_WITH_BUTTONS

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self.get_object_or_404(request, object_id)
        if request.method == "POST":  # simple-history would save the old version (a revert)
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def has_change_permission(self, request, obj=None):
        return False  # changes go through the buttons, whose services check their own rights

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class DefaultOpenFilter(DefaultChoiceFilter):
    """Open rows by default (what still needs doing); "all" on request."""

    parameter_name = "state"
    default_label = _("open")
    open_q: Q
    done_q: Q

    def lookups(self, request, model_admin):
        return [("done", _("done")), ("all", _("all"))]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        if self.value() == "done":
            return queryset.filter(self.done_q)
        return queryset.filter(self.open_q)


# --- The appeal picker -------------------------------------------------------------------------
# The admin's own autocomplete asks the appeal admin, which department leaders may not open
# (they see appeals only through their work orders): it would answer 403. The instruction
# and consultation forms ask their own admin instead, which answers those who may add one
# with the appeals they may pick (selectors.appeal_list_to_pick).


class AppealPickerView(AutocompleteJsonView):
    source_admin = None  # the ModelAdmin whose add form has the appeal field

    def process_request(self, request):
        source_field = self.source_admin.model._meta.get_field("appeal")
        return request.GET.get("term", ""), self.source_admin, source_field, "id"

    def has_perm(self, request, obj=None):
        return self.source_admin.has_add_permission(request)

    def get_queryset(self):
        return selectors.appeal_list_to_pick(self.request.user, term=self.term)

    def get_paginator(self, *args, **kwargs):
        return Paginator(*args, **kwargs)


class AppealPickerWidget(AutocompleteSelect):
    def __init__(self, field, admin_site, *, url_name: str, **kwargs):
        super().__init__(field, admin_site, **kwargs)
        self.url_name = url_name

    def get_url(self):
        return reverse(f"{self.admin_site.name}:{self.url_name}")


class AppealPickerMixin:
    """The appeal field of the add form picks from the appeals the user may pick."""

    def _picker_url_name(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}_{opts.model_name}_appeal_picker"

    def get_urls(self):
        view = AppealPickerView.as_view(admin_site=self.admin_site, source_admin=self)
        picker = path("appeal-picker/", self.admin_site.admin_view(view), name=self._picker_url_name())
        return [picker, *super().get_urls()]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "appeal":
            kwargs["widget"] = AppealPickerWidget(db_field, self.admin_site, url_name=self._picker_url_name())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
