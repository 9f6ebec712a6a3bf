from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.admin_actions import ActionForm
from apps.followups.models import Satisfaction, Visit


class StartCallForm(ActionForm):
    """No fields: starting the call stamps the time (the start of the formality checks)."""


class UnreachedForm(ActionForm):
    note = forms.CharField(
        label=_("what happened"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Number called, no answer / switched off / wrong number. Up to three attempts on different days."),
    )


class OutcomeForm(ActionForm):
    resolved = forms.TypedChoiceField(
        label=_("resolved?"),
        choices=[("yes", _("yes, resolved")), ("no", _("no, not resolved"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    satisfaction = forms.ChoiceField(label=_("satisfaction"), choices=Satisfaction.choices, widget=forms.RadioSelect)
    citizen_words = forms.CharField(
        label=_("the citizen's words"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the citizen said, in their words."),
    )
    fault = forms.ChoiceField(
        label=_("if not resolved or not satisfied: the reason is"),
        choices=[("", "—"), *[(v, label) for v, label in Visit.Fault.choices if v]],
        required=False,
        help_text=_("Within the department's control reopens the work order (重办); outside it is recorded only."),
    )
    fault_note = forms.CharField(
        label=_("explain the reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
