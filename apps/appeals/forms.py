from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.appeals import catalog, services
from apps.appeals.models import Appeal, Category, DispatchRule
from apps.appeals.selectors import dispatch_suggestion
from apps.core.admin_actions import ActionForm
from apps.core.admin_forms import ServiceModelForm
from apps.core.exceptions import DomainError
from apps.core.text_limits import LONG_TEXT
from apps.organization.models import Department


class AppealIntakeForm(ServiceModelForm):
    """What an operator types while the citizen is on the line. Everything else defaults."""

    change_reason = None  # registering is the reason

    class Meta:
        model = Appeal
        fields = [
            "channel",
            "appeal_type",
            "priority",
            "category",
            "area",
            "address",
            "content",
            "citizen_name",
            "citizen_phone",
            "citizen_id_number",
            "is_anonymous",
            "is_confidential",
        ]
        widgets = {"content": forms.Textarea(attrs={"rows": 5, "cols": 80})}

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return services.appeal_register(actor=actor, **{k: data[k] for k in self.Meta.fields})

    def _post_clean(self):
        # The service sets tracking number and receiver; skip model validation of those.
        self.instance.tracking_number = "pending"
        self.instance.received_by = self.actor
        self.instance.received_at = timezone.now()
        super()._post_clean()


class CategoryForm(ServiceModelForm):
    class Meta:
        model = Category
        fields = ["code", "name", "parent", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "code" in self.fields:
            self.fields["code"].disabled = True

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return catalog.category_save(
            actor=actor,
            code=data["code"],
            name=data["name"],
            parent=data["parent"],
            is_active=data["is_active"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )


class DispatchRuleForm(ServiceModelForm):
    class Meta:
        model = DispatchRule
        fields = ["category", "area", "lead_department", "route_to_local_street", "co_departments", "note", "is_active"]

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return catalog.dispatch_rule_save(
            actor=actor,
            category=data["category"],
            area=data["area"],
            lead_department=data["lead_department"],
            route_to_local_street=data["route_to_local_street"],
            co_departments=list(data["co_departments"]),
            note=data["note"],
            is_active=data["is_active"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )


# --- Intake outcomes (object actions) ------------------------------------------------------


def department_autocomplete(multiple=False):
    """The department picker of dispatch, reassignment and invitations: active departments
    only (DepartmentAdmin filters them for the dispatch rule's fields)."""
    if multiple:
        return AutocompleteSelectMultiple(DispatchRule._meta.get_field("co_departments"), admin.site)
    return AutocompleteSelect(DispatchRule._meta.get_field("lead_department"), admin.site)


class DispatchForm(ActionForm):
    lead = forms.ModelChoiceField(
        Department.objects.filter(is_active=True), label=_("lead department"), widget=department_autocomplete()
    )
    co = forms.ModelMultipleChoiceField(
        Department.objects.filter(is_active=True),
        required=False,
        label=_("co-handling departments"),
        widget=department_autocomplete(True),
    )
    override_reason = forms.CharField(
        label=_("reason for choosing other departments"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed only when you change the departments the dispatch catalogue suggests."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.obj is not None and not self.is_bound:
            suggestion = dispatch_suggestion(category=self.obj.category, area=self.obj.area)
            self.suggestion = suggestion
            self.fields["lead"].initial = suggestion.lead
            self.fields["co"].initial = suggestion.co


class AnswerForm(ActionForm):
    answer = forms.CharField(
        label=_("answer given to the citizen"), max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 5})
    )


class RejectForm(ActionForm):
    route = forms.ChoiceField(label=_("lawful route told to the citizen"), choices=Appeal.RejectRoute.choices)
    reason = forms.CharField(label=_("why it is out of scope"), widget=forms.Textarea(attrs={"rows": 3}))


class MergeForm(ActionForm):
    into = forms.CharField(
        label=_("tracking number of the earlier appeal"), max_length=20, help_text=_("See the likely duplicates above.")
    )
    reason = forms.CharField(label=_("why they are the same issue"), widget=forms.Textarea(attrs={"rows": 2}))

    def clean_into(self):
        number = self.cleaned_data["into"].strip()
        target = Appeal.objects.filter(tracking_number=number).first()
        if target is None:
            raise forms.ValidationError(_("No appeal has the tracking number %(number)s.") % {"number": number})
        return target


class RevealContactForm(ActionForm):
    reason = forms.CharField(
        label=_("why you need the contact details"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The request is kept in the action log."),
    )


__all__ = [
    "AppealIntakeForm",
    "CategoryForm",
    "DispatchRuleForm",
    "DispatchForm",
    "AnswerForm",
    "RejectForm",
    "MergeForm",
    "RevealContactForm",
    "DomainError",
]
