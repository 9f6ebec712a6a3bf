"""The leader workbench: approval requests routed to me, decided one by one or in bulk."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from apps.authorization import admin_desk, selectors, services
from apps.authorization.admin.common import R
from apps.authorization.display import holders_text
from apps.authorization.forms import BulkDecisionForm, DecisionForm, WithdrawForm
from apps.authorization.models import ApprovalRequest, ApprovalRequestUserObjectPermission
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin
from apps.core.admin_desk import CaseDeskMixin
from apps.core.admin_forms import DefaultChoiceFilter, HistoryAdmin, LargeTableAdmin
from apps.core.timefmt import local_minute

PENDING = ApprovalRequest.Status.PENDING


def _is_routed(user, request):
    return selectors.approval_queue(user).filter(pk=request.pk).exists()


def _decide(approve):
    def perform(user, request, data):
        services.approval_decide(
            actor=user, request=request, approve=approve, comment=data["comment"], expected_version=data["version"]
        )
        return _("Request approved; its effect is applied.") if approve else _("Request rejected.")

    return perform


def _withdraw(user, request, data):
    services.approval_withdraw(actor=user, request=request, reason=data["reason"])
    return _("Request withdrawn.")


def _may_decide(user, request):
    return (
        request.status == PENDING
        and user.role in {R.DEPT_LEADER, R.CITY_LEADER}
        and request.requested_by_id != user.pk
        and (user.role == R.CITY_LEADER or _is_routed(user, request))
    )


class QueueFilter(DefaultChoiceFilter):
    """Leaders land on what waits for them; "all" shows everything they may see."""

    title = _("approval queue")
    parameter_name = "queue"
    default_label = _("waiting for my decision")

    def lookups(self, request, model_admin):
        if request.user.role in {R.DEPT_LEADER, R.CITY_LEADER}:
            return [("all", _("all I may see"))]
        return []

    def queryset(self, request, queryset):
        return queryset  # applied in get_queryset, which knows the user


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(CaseDeskMixin, ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    """The leader workbench: pending requests routed to me, most urgent first, approve or
    reject with a comment in one step, or several of one kind at once."""

    list_display = [
        "kind",
        "tracking_number",
        "requested_by",
        "waiting",
        "extension_days",
        "reason_text",
        "resolve_due",
        "status",
        "held_by",
    ]
    list_filter = [QueueFilter, "status", "kind"]
    list_select_related = ["appeal", "task", "department", "requested_by", "decided_by__department"]
    search_fields = ["=appeal__tracking_number"]
    change_list_template = "admin/authorization/approvalrequest/change_list.html"
    actions = ["approve_selected", "reject_selected"]
    object_actions = [
        ObjectAction("approve", _("Approve"), DecisionForm, _decide(True), _may_decide),
        ObjectAction("reject", _("Reject"), DecisionForm, _decide(False), _may_decide, "danger"),
        ObjectAction(
            "withdraw",
            _("Withdraw my request"),
            WithdrawForm,
            _withdraw,
            lambda u, r: r.status == PENDING and r.requested_by_id == u.pk,
        ),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        user = request.user
        on_list = request.resolver_match and request.resolver_match.url_name.endswith("_changelist")
        if on_list:
            # Who holds each pending request, for the list's column: one query per page.
            qs = qs.prefetch_related(Prefetch(
                "approvalrequestuserobjectpermission_set",
                queryset=ApprovalRequestUserObjectPermission.objects.filter(
                    permission__codename="decide_approvalrequest"
                ).select_related("user__department"),
                to_attr="routings",
            ))
        if on_list and user.role in {R.DEPT_LEADER, R.CITY_LEADER} and request.GET.get("queue") != "all":
            return selectors.approval_queue(user, qs)
        return selectors.approval_list_for(user, qs)

    def get_ordering(self, request):
        return []  # approval_queue orders by urgency; otherwise the model's order

    def has_add_permission(self, request):
        return False  # raised from a work order or an appeal page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        if request.user.role not in {R.DEPT_LEADER, R.CITY_LEADER}:
            actions.pop("approve_selected", None)
            actions.pop("reject_selected", None)
        return actions

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        if request.user.role in {R.DEPT_LEADER, R.CITY_LEADER}:
            extra_context["leader_figures"] = selectors.leader_figures(request.user)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("tracking number"))
    def tracking_number(self, obj):
        return obj.appeal.tracking_number

    @admin.display(description=_("waiting"))
    def waiting(self, obj):
        end = obj.decided_at or timezone.now()
        hours = (end - obj.requested_at).total_seconds() / 3600
        return f"{hours:.1f} h"

    @admin.display(description=_("resolve by"))
    def resolve_due(self, obj):
        return local_minute(obj.task.resolve_due_at) if obj.task_id else ""

    @admin.display(description=_("reason"))
    def reason_text(self, obj):
        return Truncator(obj.reason).chars(40)

    @admin.display(description=_("held by / decided by"))
    def held_by(self, obj):
        """Pending: the leaders it is routed to, by name, role and department; decided: who."""
        if obj.status == PENDING:
            return holders_text(g.user for g in getattr(obj, "routings", [])) or _("the city leaders")
        return obj.decided_by.described() if obj.decided_by_id else ""

    # --- the case desk and the decision pages ---------------------------------------------------

    def build_desk(self, request, obj):
        return admin_desk.approval_desk(obj, request.user)

    def action_panels(self, request, obj, action):
        """The decision page: what is asked and why, and the work order's state and limits."""
        desk = admin_desk.approval_desk(obj, request.user)
        return [*desk.main[:2], *desk.side]

    def _bulk(self, request, queryset, approve):
        if "apply" in request.POST:
            form = BulkDecisionForm(request.POST)
            if form.is_valid():
                try:
                    decided, refused = services.approval_decide_many(
                        actor=request.user,
                        requests=list(queryset),
                        approve=approve,
                        comment=form.cleaned_data["comment"],
                    )
                except Exception as exc:  # e.g. mixed kinds: say so, change nothing
                    self.message_user(request, str(exc), messages.ERROR)
                    return None
                self.message_user(request, _("%(n)d request(s) decided.") % {"n": decided}, messages.SUCCESS)
                if refused:
                    self.message_user(request, "; ".join(refused), messages.WARNING)
                return None
        else:
            form = BulkDecisionForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Approve the selected requests") if approve else _("Reject the selected requests"),
            "form": form,
            "queryset": queryset,
            "opts": self.model._meta,
            "action": "approve_selected" if approve else "reject_selected",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/authorization/approvalrequest/bulk_decision.html", context)

    @admin.action(description=_("Approve the selected requests (one comment)"), permissions=["view"])
    def approve_selected(self, request, queryset):
        return self._bulk(request, queryset, True)

    @admin.action(description=_("Reject the selected requests (one comment)"), permissions=["view"])
    def reject_selected(self, request, queryset):
        return self._bulk(request, queryset, False)
