from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.core.admin_actions import ObjectAction, ObjectActionsMixin
from apps.core.admin_desk import Panel
from apps.core.admin_forms import HistoryAdmin, LargeTableAdmin, ServiceAdminMixin, is_autocomplete
from apps.core.models import CalendarDay, CalendarYear
from apps.core.timefmt import local_minute
from apps.organization import calendar, roles, services
from apps.organization.forms import (
    AreaForm,
    CalendarDayForm,
    CalendarYearForm,
    DepartmentForm,
    SecondFactorResetForm,
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

    def has_view_permission(self, request, obj=None):
        # The security administrator picks departments when granting them (autocomplete),
        # without holding the system administrator's view_department.
        return super().has_view_permission(request, obj) or request.user.has_perm(roles.GRANT_ROLE)

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        # Work orders and rules go to active departments only.
        if request.GET.get("model_name") in {"task", "dispatchrule"}:
            queryset = queryset.filter(is_active=True)
        return queryset, distinct


def _picking_a_grantee(request) -> bool:
    """The delegation form's grantee autocomplete: a leader who may grant a delegation
    searches the leaders by name, without seeing the staff list itself."""
    return (
        is_autocomplete(request)
        and request.GET.get("app_label") == "authorization"
        and request.GET.get("model_name") == "delegation"
        and request.GET.get("field_name") == "grantee"
        and request.user.has_perm("authorization.add_delegation")
    )


_AUTHORITY_FIELDS = ("department", "role")
_ACCOUNT_FIELDS = ("name", "email", "phone", "is_active")


def _reset_second_factor(user, staff, data):
    services.staff_reset_second_factor(actor=user, user=staff, reason=data["reason"])
    return _("The authenticator of %(name)s is removed: they enrol a new one at their next login.") % {"name": staff}


def _may_reset_second_factor(user, staff) -> bool:
    return (
        roles.actor_may(user, roles.DUTY_AUTHORITY)
        and staff.pk != user.pk
        and TOTPDevice.objects.filter(user=staff).exists()
    )


@admin.register(User)
class StaffAdmin(ObjectActionsMixin, ServiceAdminMixin, NoDeleteMixin, HistoryAdmin, UserAdmin, LargeTableAdmin):
    """Staff accounts, kept by two administrators (roles.py, separation of duties): the
    system administrator the account (create, name and contacts, deactivate, password),
    the security administrator its department and role. Each sees the other's fields read
    only; groups and permissions follow department and role (services), never edited here."""

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
        (None, {"fields": ["username", "name", "email", "phone", "password1", "password2"]}),
        (None, {"fields": ["change_reason"]}),
    ]
    filter_horizontal = []
    actions = ["unlock"]
    object_actions = [
        ObjectAction(
            "reset_second_factor",
            _("Reset the second factor (lost authenticator)"),
            SecondFactorResetForm,
            _reset_second_factor,
            _may_reset_second_factor,
            "danger",
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_service_account=False)

    def action_panels(self, request, obj, action):
        return [Panel("account", _("The account"), self.action_summary(request, obj))]

    def action_summary(self, request, obj):
        device = TOTPDevice.objects.filter(user=obj).order_by("-confirmed", "pk").first()
        if device is None:
            authenticator = _("none")
        elif device.confirmed:
            authenticator = _("enrolled")
        else:
            authenticator = _("enrolment started, not confirmed")
        return [
            (_("full name"), obj.name or obj.username),
            (_("username"), obj.username),
            (_("department"), obj.department or "—"),
            (_("role"), obj.get_role_display() or "—"),
            (_("authenticator"), authenticator),
            (_("last login"), local_minute(obj.last_login) if obj.last_login else _("never")),
        ]

    # --- who may do what ------------------------------------------------------------------

    def has_view_permission(self, request, obj=None):
        return (
            super().has_view_permission(request, obj)
            or request.user.has_perm(roles.GRANT_ROLE)
            or (obj is None and _picking_a_grantee(request))
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or request.user.has_perm(roles.GRANT_ROLE)

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if _picking_a_grantee(request):
            queryset = queryset.filter(role__in=roles.DELEGATION_GRANTEE_ROLES, is_active=True)
        return queryset, distinct

    def has_unlock_permission(self, request):
        return request.user.has_perm(roles.UNLOCK_USER)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            if not request.user.has_perm(roles.GRANT_ROLE):
                fields += _AUTHORITY_FIELDS
            if not request.user.has_perm("organization.change_user"):
                fields += _ACCOUNT_FIELDS
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            note = _("The security administrator grants the department and role afterwards.")
        elif not request.user.has_perm(roles.GRANT_ROLE):
            note = _("Department and role are granted by the security administrator.")
        elif not request.user.has_perm("organization.change_user"):
            note = _("Name, contacts, sign-in and password are kept by the system administrator.")
        else:
            return fieldsets
        (title, options), *rest = fieldsets
        return [(title, {**options, "description": note}), *rest]

    def add_view(self, request, form_url="", extra_context=None):
        if not super().has_add_permission(request):
            raise PermissionDenied(_("Only the system administrator creates accounts."))
        return super().add_view(request, form_url, extra_context)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.has_perm("organization.change_user"):
            raise PermissionDenied(_("Only the system administrator resets passwords."))
        return super().user_change_password(request, id, form_url)

    @admin.action(description=_("Unlock sign-in (after too many failed attempts)"), permissions=["unlock"])
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
