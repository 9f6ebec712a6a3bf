"""Rule adaptations (变通): city leaders adapt the rules for a category and area for a
limited time; the centre and inspectors read them."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.authorization import adaptations
from apps.authorization.admin.common import R, ScopedReadOnlyAdmin, when
from apps.authorization.models import RuleAdaptation
from apps.core.admin_actions import ActionForm, ObjectAction
from apps.core.admin_forms import ServiceAdminMixin, ServiceModelForm


class RuleAdaptationForm(ServiceModelForm):
    class Meta:
        model = RuleAdaptation
        fields = ["kind", "category", "area", "priority", "resolve_amount", "resolve_unit", "valid_from", "valid_until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change_reason"].label = _("Reason (the live data that calls for it)")
        if "valid_until" in self.fields:
            self.fields["valid_until"].required = False
            self.fields["valid_until"].help_text = _("Empty: 30 days after the start; at most 90 days.")
        if "priority" in self.fields:
            self.fields["priority"].help_text = _("Raising the priority: new appeals get at least this one.")
        if "resolve_amount" in self.fields:
            self.fields["resolve_amount"].help_text = _("Shortening the limit: resolve within this time.")

    def _post_clean(self):
        self.instance.issued_by = self.actor  # set by the service; model validation needs one
        super()._post_clean()

    def run_service(self, *, actor, reason):
        d = self.cleaned_data
        return adaptations.rule_adaptation_issue(
            actor=actor,
            kind=d["kind"],
            category=d["category"],
            area=d["area"],
            priority=d["priority"],
            resolve_amount=d["resolve_amount"],
            resolve_unit=d["resolve_unit"],
            valid_from=d["valid_from"],
            valid_until=d.get("valid_until"),
            reason=reason,
        )


class RevokeAdaptationForm(ActionForm):
    reason = forms.CharField(label=_("why it ends early"), widget=forms.Textarea(attrs={"rows": 3}))


def _revoke(user, adaptation, data):
    adaptations.rule_adaptation_revoke(actor=user, adaptation=adaptation, reason=data["reason"])
    return _("Adaptation revoked: new appeals follow the ordinary rules again.")


def _adaptation_state(obj, now=None) -> str:
    now = now or timezone.now()
    if obj.revoked_at is not None:
        return "revoked"
    if obj.valid_until <= now:
        return "expired"
    if obj.valid_from > now:
        return "scheduled"
    return "live"


_STATE_LABELS = {"live": _("in force"), "scheduled": _("scheduled"), "expired": _("expired"), "revoked": _("revoked")}


class AdaptationStateFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return list(_STATE_LABELS.items())

    def queryset(self, request, queryset):
        now = timezone.now()
        value = self.value()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        live = queryset.filter(revoked_at__isnull=True)
        if value == "live":
            return live.filter(valid_from__lte=now, valid_until__gt=now)
        if value == "scheduled":
            return live.filter(valid_from__gt=now)
        if value == "expired":
            return live.filter(valid_until__lte=now)
        return queryset


@admin.register(RuleAdaptation)
class RuleAdaptationAdmin(ServiceAdminMixin, ScopedReadOnlyAdmin):
    """City leaders adapt the rules for a category and area for a limited time; the centre and
    inspectors read them. Ended early only by the revoke button."""

    form = RuleAdaptationForm
    list_display = ["__str__", "effect", "valid_from", "valid_until", "state", "issued_by"]
    list_filter = [AdaptationStateFilter, "kind"]
    list_select_related = ["category", "area", "issued_by"]
    search_fields = ["category__full_name", "^category__code", "area__name"]
    autocomplete_fields = ["category", "area"]
    ordering = ["-valid_from", "-id"]
    _display_fields = [
        "kind",
        "category",
        "area",
        "effect",
        "valid_from",
        "valid_until",
        "state",
        "issued_by",
        "reason",
        "revoked_at",
    ]
    object_actions = [
        ObjectAction(
            "revoke",
            _("Revoke"),
            RevokeAdaptationForm,
            _revoke,
            lambda u, a: u.role == R.CITY_LEADER and _adaptation_state(a) in {"live", "scheduled"},
            "danger",
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "area", "issued_by")

    def get_fields(self, request, obj=None):
        return [*RuleAdaptationForm.Meta.fields, "change_reason"] if obj is None else self._display_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self._display_fields

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            _("Adaptation issued: it applies to new appeals from %(start)s until %(end)s.")
            % {"start": when(obj.valid_from), "end": when(obj.valid_until)},
        )
        return HttpResponseRedirect(reverse("admin:authorization_ruleadaptation_change", args=[obj.pk]))

    @admin.display(description=_("effect"))
    def effect(self, obj):
        if obj.kind == RuleAdaptation.Kind.RAISE_PRIORITY:
            return _("at least %(priority)s") % {"priority": obj.get_priority_display()}
        return _("resolve within %(amount)s %(unit)s") % {
            "amount": obj.resolve_amount,
            "unit": obj.get_resolve_unit_display(),
        }

    @admin.display(description=_("state"))
    def state(self, obj):
        return _STATE_LABELS[_adaptation_state(obj)]

    def action_summary(self, request, obj):
        return [
            (_("adaptation"), obj),
            (_("effect"), self.effect(obj)),
            (_("valid from"), when(obj.valid_from)),
            (_("valid until"), when(obj.valid_until)),
            (_("reason"), obj.reason),
        ]
