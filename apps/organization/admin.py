from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from apps.core.admin_forms import HistoryAdmin, LargeTableAdmin, ServiceAdminMixin
from apps.core.models import CalendarDay, CalendarYear
from apps.organization import calendar, services
from apps.organization.forms import (
    AreaForm,
    CalendarDayForm,
    CalendarYearForm,
    DepartmentForm,
    StaffChangeForm,
    StaffCreateForm,
    StaffPasswordForm,
)
from apps.organization.models import Area, Department, User

# Groups follow departments and roles (organization.services, roles.py): no hand editing.
admin.site.unregister(Group)


class NoDeleteMixin:
    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: history and references must survive


@admin.register(Area)
class AreaAdmin(ServiceAdminMixin, NoDeleteMixin, HistoryAdmin, LargeTableAdmin):
    form = AreaForm
    list_display = ["name", "code", "kind", "parent"]
    list_filter = ["kind"]
    list_select_related = ["parent"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    ordering = ["path"]


@admin.register(Department)
class DepartmentAdmin(ServiceAdminMixin, NoDeleteMixin, HistoryAdmin, LargeTableAdmin):
    form = DepartmentForm
    list_display = ["name", "code", "kind", "parent", "area", "is_active"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["parent", "area"]
    search_fields = ["name", "short_name", "code"]
    autocomplete_fields = ["parent", "area"]
    readonly_fields = ["group"]
    ordering = ["path"]

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        # Work orders and rules go to active departments only.
        if request.GET.get("model_name") in {"task", "dispatchrule"}:
            queryset = queryset.filter(is_active=True)
        return queryset, distinct


@admin.register(User)
class StaffAdmin(ServiceAdminMixin, NoDeleteMixin, HistoryAdmin, UserAdmin, LargeTableAdmin):
    """Staff accounts. Groups and permissions follow department and role (services), so
    they are not edited here."""

    form = StaffChangeForm
    add_form = StaffCreateForm
    change_password_form = StaffPasswordForm
    list_display = ["username", "name", "department", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    list_select_related = ["department"]
    search_fields = ["^username", "name", "department__name"]
    autocomplete_fields = ["department"]
    ordering = ["username"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["name", "department", "role", "email", "phone", "is_active"]}),
        (_("Sign-in"), {"fields": ["last_login", "date_joined"]}),
        (None, {"fields": ["change_reason"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "name", "department", "role", "email", "phone", "password1", "password2"]}),
        (None, {"fields": ["change_reason"]}),
    ]
    filter_horizontal = []
    actions = ["unlock"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_service_account=False)

    @admin.action(description=_("Unlock sign-in (after too many failed attempts)"), permissions=["change"])
    def unlock(self, request, queryset):
        for user in queryset:
            services.staff_unlock(actor=request.user, user=user, reason=_("unlocked in the admin"))
        self.message_user(request, _("Sign-in unlocked for %(n)d account(s).") % {"n": len(queryset)}, messages.SUCCESS)


# --- The working calendar (models in apps.core; the system admin keeps it) ---------------------


@admin.register(CalendarYear)
class CalendarYearAdmin(ServiceAdminMixin, HistoryAdmin):
    form = CalendarYearForm
    list_display = ["year", "is_published", "source", "note", "updated_at"]
    list_filter = ["is_published"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(ServiceAdminMixin, HistoryAdmin):
    form = CalendarDayForm
    list_display = ["date", "weekday_label", "kind", "name"]
    list_filter = ["kind"]
    search_fields = ["name", "=date"]
    date_hierarchy = "date"  # a few hundred rows: cheap here

    @admin.display(description=_("weekday"))
    def weekday_label(self, obj):
        return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][obj.date.weekday()]

    def delete_model(self, request, obj):
        calendar.calendar_day_delete(actor=request.user, instance=obj, reason=_("deleted in the admin"))
