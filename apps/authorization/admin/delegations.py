"""Delegations (授权): leaders pass on what they hold; revoked, never edited."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.authorization import selectors, services
from apps.authorization.admin.common import CHANGE_FORM_WITH_BUTTONS, R
from apps.authorization.forms import DelegationForm, RevokeForm
from apps.authorization.models import Delegation
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin
from apps.core.admin_forms import HistoryAdmin, LargeTableAdmin, ServiceAdminMixin


def _revoke(user, delegation, data):
    services.delegation_revoke(actor=user, delegation=delegation, reason=data["reason"])
    return _("Delegation revoked.")


@admin.register(Delegation)
class DelegationAdmin(ObjectActionsMixin, ServiceAdminMixin, HistoryAdmin, LargeTableAdmin):
    form = DelegationForm
    list_display = [
        "grantee",
        "kind",
        "scope",
        "max_extension_days",
        "valid_from",
        "valid_until",
        "grantor",
        "revoked_at",
    ]
    list_filter = ["kind"]
    list_select_related = ["grantee", "grantor", "scope"]
    autocomplete_fields = ["grantee", "scope"]  # 3,000+ leaders: never one select of them all
    change_form_template = CHANGE_FORM_WITH_BUTTONS
    object_actions = [
        ObjectAction(
            "revoke",
            _("Revoke"),
            RevokeForm,
            _revoke,
            lambda u, d: d.revoked_at is None and (u.pk == d.grantor_id or u.role == R.CITY_LEADER),
            "danger",
        ),
    ]

    def get_queryset(self, request):
        return selectors.delegation_list_for(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "grantor",
            "grantee",
            "kind",
            "scope",
            "max_extension_days",
            "valid_from",
            "valid_until",
            "reason",
            "revoked_at",
            "revoked_by",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return DelegationForm.Meta.fields
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False
