"""What the authorization admin pages share: the read-only base with object actions,
the "open by default" filter, time and lateness display, and the change-form template."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin_actions import ObjectActionsMixin
from apps.core.admin_forms import DefaultChoiceFilter, HistoryAdmin, LargeTableAdmin
from apps.organization.models import User

R = User.Role
# The change form with the object-action buttons (templates/admin/authorization/).
CHANGE_FORM_WITH_BUTTONS = "admin/authorization/change_form.html"


def when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def late_flag(is_late: bool):
    return format_html('<span style="color:#c62828;font-weight:bold">{}</span>', _("late")) if is_late else ""


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
