from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from apps.appeals.models import Appeal
from apps.audit.actions import action_choices
from apps.core.admin_actions import ActionForm
from apps.core.admin_forms import ServiceModelForm
from apps.core.form_input import BoundedDateField, harden_form
from apps.core.text_limits import LONG_TEXT
from apps.organization.models import Department, User
from apps.supervision import services
from apps.supervision.models import AccountabilityRecord


class AnswerForm(ActionForm):
    note = forms.CharField(
        label=_("Rectification note"), widget=forms.Textarea(attrs={"rows": 4}), max_length=LONG_TEXT,
        help_text=_("What was wrong, what has been put right, and what changes so it does not happen again."),
    )


class CloseForm(ActionForm):
    reason = forms.CharField(label=_("Reason for closing"), widget=forms.Textarea(attrs={"rows": 2}))


def _tracking_numbers(text: str) -> list[Appeal]:
    numbers = [n for n in (text or "").replace(",", " ").split() if n]
    found = {a.tracking_number: a for a in Appeal.objects.filter(tracking_number__in=numbers)}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise forms.ValidationError(_("No appeal with tracking number %(n)s.") % {"n": ", ".join(missing)})
    return [found[n] for n in numbers]


class AccountabilityForm(ServiceModelForm):
    evidence_appeals = forms.CharField(
        label=_("Evidence: appeals"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Tracking numbers, separated by spaces or new lines."),
    )
    evidence_entries = forms.CharField(
        label=_("Evidence: history entries"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("References from the history browser, e.g. task:1234 or audit:987, one per line."),
    )

    class Meta:
        model = AccountabilityRecord
        fields = ["subject_department", "subject_person", "finding", "decision", "sanction", "supersedes"]

    def clean_evidence_appeals(self):
        return _tracking_numbers(self.cleaned_data.get("evidence_appeals", ""))

    def clean_evidence_entries(self):
        return [line.strip() for line in (self.cleaned_data.get("evidence_entries") or "").splitlines() if line.strip()]

    def run_service(self, *, actor, reason: str):
        data = self.cleaned_data
        if self.instance.pk:
            return services.accountability_update(
                actor=actor, record_=self.instance, finding=data["finding"], decision=data.get("decision", ""),
                sanction=data["sanction"], subject_person=data.get("subject_person"), reason=reason,
                appeals=data.get("evidence_appeals"), entry_refs=data.get("evidence_entries"),
                expected_version=self.instance.version,
            )
        return services.accountability_record(
            actor=actor, subject_department=data["subject_department"], subject_person=data.get("subject_person"),
            finding=data["finding"], decision=data.get("decision", ""), sanction=data["sanction"], reason=reason,
            appeals=data.get("evidence_appeals"), entry_refs=data.get("evidence_entries"),
            supersedes=data.get("supersedes"),
        )


class HistoryQueryForm(forms.Form):
    """Filters of the cross-appeal history query. Users and departments by autocomplete."""

    person = forms.ModelChoiceField(queryset=User.objects.all(), required=False, label=_("person"))
    department = forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, label=_("department (of the person acting)")
    )
    source = forms.MultipleChoiceField(required=False, label=_("records"), widget=forms.CheckboxSelectMultiple)
    action = forms.ChoiceField(required=False, label=_("action kind (action log)"))
    since = BoundedDateField(required=False, label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    until = BoundedDateField(required=False, label=_("to (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, sources=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [(s.key, s.label) for s in sources]
        self.fields["action"].choices = [("", "---------"), *action_choices()]
        # Autocomplete (never a select of 30,000 users): the widget needs its field's choices.
        for name, model_field in [("person", "subject_person"), ("department", "subject_department")]:
            widget = AutocompleteSelect(AccountabilityRecord._meta.get_field(model_field), admin.site)
            widget.choices = self.fields[name].choices
            self.fields[name].widget = widget
        harden_form(self)  # a refused id shown again must not reach the widget's query


class PeriodForm(forms.Form):
    since = BoundedDateField(
        required=False, label=_("dispatched from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = BoundedDateField(required=False, label=_("to (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
