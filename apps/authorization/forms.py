from django import forms
from django.utils.translation import gettext_lazy as _

from apps.appeals.forms import department_autocomplete
from apps.authorization import services
from apps.authorization.authority import MAX_EXTENSION_DAYS
from apps.authorization.models import Delegation
from apps.core.admin_actions import ActionForm
from apps.core.admin_forms import ServiceModelForm
from apps.core.text_limits import TextLimitedForm
from apps.organization.models import Department, User
from apps.organization.roles import DELEGATION_GRANTEE_ROLES


class DelegationForm(ServiceModelForm):
    change_reason = None  # the delegation's own reason is kept

    class Meta:
        model = Delegation
        fields = ["grantee", "kind", "scope", "max_extension_days", "valid_from", "valid_until", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "grantee" in self.fields:
            self.fields["grantee"].queryset = User.objects.filter(role__in=DELEGATION_GRANTEE_ROLES, is_active=True)

    def _post_clean(self):
        self.instance.grantor = self.actor  # the service sets it; model validation needs one
        super()._post_clean()

    def run_service(self, *, actor, reason):
        d = self.cleaned_data
        return services.delegation_grant(
            actor=actor,
            grantee=d["grantee"],
            kind=d["kind"],
            scope=d["scope"],
            valid_from=d["valid_from"],
            valid_until=d["valid_until"],
            max_extension_days=d["max_extension_days"],
            reason=d["reason"],
        )


class DecisionForm(ActionForm):
    comment = forms.CharField(
        label=_("comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Every decision needs a comment; it is kept with the decision."),
    )


class WithdrawForm(ActionForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class RevokeForm(ActionForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class BulkDecisionForm(TextLimitedForm):
    comment = forms.CharField(label=_("comment for all selected requests"), widget=forms.Textarea(attrs={"rows": 3}))


class ExtensionRequestForm(ActionForm):
    days = forms.IntegerField(label=_("extension (working days)"), min_value=1, max_value=MAX_EXTENSION_DAYS)
    reason = forms.CharField(label=_("why more time is needed"), widget=forms.Textarea(attrs={"rows": 3}))


class ReasonRequestForm(ActionForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ReassignRequestForm(ActionForm):
    target_department = forms.ModelChoiceField(
        Department.objects.filter(is_active=True), label=_("reassign to"), widget=department_autocomplete()
    )
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))
