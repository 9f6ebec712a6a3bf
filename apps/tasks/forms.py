from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.appeals.forms import department_autocomplete
from apps.appeals.selectors import dispatch_suggestion
from apps.core.admin_actions import ActionForm
from apps.core.admin_forms import ServiceModelForm
from apps.core.text_limits import LONG_TEXT
from apps.organization.models import Department
from apps.tasks import services
from apps.tasks.models import SlaRule, Task


class SlaRuleForm(ServiceModelForm):
    class Meta:
        model = SlaRule
        fields = [
            "priority",
            "appeal_type",
            "category",
            "sign_amount",
            "sign_unit",
            "contact_amount",
            "contact_unit",
            "resolve_amount",
            "resolve_unit",
            "is_active",
        ]

    def run_service(self, *, actor, reason):
        d = self.cleaned_data
        return services.sla_rule_save(
            actor=actor,
            priority=d["priority"],
            appeal_type=d["appeal_type"],
            category=d["category"],
            limits={k: (d[f"{k}_amount"], d[f"{k}_unit"]) for k in ("sign", "contact", "resolve")},
            is_active=d["is_active"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )


class SignForm(ActionForm):
    pass


class ReturnRequestForm(ActionForm):
    reason = forms.CharField(
        label=_("why this is not your department's matter, and the legal basis"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ContactForm(ActionForm):
    contacted_at = forms.DateTimeField(
        label=_("contacted at"), required=False, help_text=_("Empty: now. Format 2026-11-26 14:30.")
    )
    method = forms.ChoiceField(label=_("how"), choices=Task.ContactMethod.choices)
    note = forms.CharField(label=_("what was said or agreed"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_contacted_at(self):
        value = self.cleaned_data.get("contacted_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ReplyForm(ActionForm):
    result = forms.ChoiceField(label=_("result"), choices=Task.Result.choices)
    reply_text = forms.CharField(
        label=_("reply to the citizen"), max_length=LONG_TEXT, widget=forms.Textarea(attrs={"rows": 6})
    )
    policy_basis = forms.CharField(
        label=_("policy or legal basis"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required unless the matter is fully resolved."),
    )


class ReviewForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("decision"),
        widget=forms.RadioSelect,
        choices=[("accept", _("accept the reply")), ("send_back", _("send it back"))],
    )
    comment = forms.CharField(
        label=_("comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when sending back: say what is missing."),
    )


class ReturnDecisionForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("decision"),
        widget=forms.RadioSelect,
        choices=[("approve", _("approve and reassign")), ("reject", _("refuse: the department keeps it"))],
    )
    reassign_to = forms.ModelChoiceField(
        Department.objects.filter(is_active=True),
        required=False,
        label=_("reassign to"),
        widget=department_autocomplete(),
    )
    comment = forms.CharField(label=_("comment"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.obj is not None and not self.is_bound:
            suggestion = dispatch_suggestion(
                category=self.obj.appeal.category, area=self.obj.appeal.area, exclude={self.obj.department_id}
            )
            self.fields["reassign_to"].initial = suggestion.lead
