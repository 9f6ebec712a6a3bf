from django import forms
from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from apps.core.admin_actions import ActionForm
from apps.core.admin_forms import ServiceModelForm
from apps.core.models import CalendarDay, CalendarYear
from apps.core.text_limits import SHORT_TEXT
from apps.organization import calendar, login, services
from apps.organization.models import Area, Department, User


class AreaForm(ServiceModelForm):
    class Meta:
        model = Area
        fields = ["code", "name", "kind", "parent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "code" in self.fields:
            self.fields["code"].disabled = True

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        if self.instance.pk:
            return services.area_update(
                actor=actor,
                area=self.instance,
                name=data["name"],
                kind=data["kind"],
                parent=data["parent"],
                reason=reason,
            )
        return services.area_create(
            actor=actor, code=data["code"], name=data["name"], kind=data["kind"], parent=data["parent"], reason=reason
        )


class DepartmentForm(ServiceModelForm):
    class Meta:
        model = Department
        fields = ["code", "name", "short_name", "kind", "parent", "area", "phone", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "code" in self.fields:
            self.fields["code"].disabled = True
        elif "is_active" in self.fields:
            self.fields["is_active"].disabled = True

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        fields = {k: data[k] for k in ["name", "short_name", "kind", "parent", "area", "phone"]}
        if not self.instance.pk:
            return services.department_create(actor=actor, code=data["code"], reason=reason, **fields)
        department = services.department_update(actor=actor, department=self.instance, reason=reason, **fields)
        if data["is_active"] != department.is_active:
            department = services.department_set_active(
                actor=actor, department=department, is_active=data["is_active"], reason=reason
            )
        return department


class StaffCreateForm(ServiceModelForm):
    password1 = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        strip=False,
        help_text=_("Leave empty to create the account without a password (it cannot log in until one is set)."),
    )
    password2 = forms.CharField(
        label=_("Password again"), widget=forms.PasswordInput(render_value=False), required=False, strip=False
    )

    class Meta:
        model = User
        fields = ["username", "name", "department", "role", "email", "phone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("department", "role"):
            if name in self.fields:
                self.fields[name].required = True

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return services.staff_create(
            actor=actor,
            username=data["username"],
            name=data["name"],
            department=data.get("department"),  # not on the system administrator's form
            role=data.get("role", ""),
            password=data.get("password1") or None,
            email=data["email"],
            phone=data["phone"],
            reason=reason,
        )


class StaffChangeForm(ServiceModelForm):
    class Meta:
        model = User
        fields = ["name", "department", "role", "email", "phone", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "department" in self.fields:
            self.fields["department"].required = True

    def run_service(self, *, actor, reason):
        # Each administrator's form holds only their own fields (StaffAdmin); the others
        # keep their value, and each service does nothing when its part did not change.
        data, user = self.cleaned_data, self.instance
        get = lambda name: data[name] if name in data else getattr(user, name)  # noqa: E731
        user = services.staff_update(
            actor=actor, user=user, name=get("name"), email=get("email"), phone=get("phone"), reason=reason
        )
        user = services.staff_assign(
            actor=actor, user=user, department=get("department"), role=get("role"), reason=reason
        )
        if get("is_active") != user.is_active:
            user = services.staff_set_active(actor=actor, user=user, is_active=get("is_active"), reason=reason)
        return user


class StaffPasswordForm(AdminPasswordChangeForm):
    """The admin's "set password" form, saved through the service (history + action log)."""

    change_reason = forms.CharField(label=_("Reason for this change"), max_length=SHORT_TEXT)

    def save(self, commit=True):
        request = getattr(HistoricalRecords.context, "request", None)
        actor = getattr(request, "user", None)
        return services.staff_set_password(
            actor=actor,
            user=self.user,
            password=self.cleaned_data["password1"],
            reason=self.cleaned_data["change_reason"],
        )


class OwnPasswordChangeForm(PasswordChangeForm):
    """A staff member's own password change (the admin's page; also where an expired
    password leads), saved through the service so the action log has it."""

    def save(self, commit=True):
        return login.password_change_own(user=self.user, password=self.cleaned_data["new_password1"])


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=10,
        help_text=_("The six digits your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
    )


# --- The working calendar (models in apps.core) ----------------------------------------------


class CalendarYearForm(ServiceModelForm):
    class Meta:
        model = CalendarYear
        fields = ["year", "is_published", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "year" in self.fields:
            self.fields["year"].disabled = True

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return calendar.calendar_year_save(
            actor=actor,
            year=data["year"],
            is_published=data["is_published"],
            note=data["note"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )


class CalendarDayForm(ServiceModelForm):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name"]

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return calendar.calendar_day_save(
            actor=actor,
            day=data["date"],
            kind=data["kind"],
            name=data["name"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )


class SecondFactorResetForm(ActionForm):
    """Removing a lost authenticator: the reason records how the person was identified."""

    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Say why, and how you confirmed it is the account holder who asks (in person, or by a call "
            "back to their department's leader): at the next login, whoever has the password enrols the "
            "new authenticator."
        ),
    )
