from django.contrib import admin
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.appeals import selectors, services
from apps.appeals.forms import (
    AnswerForm,
    AppealIntakeForm,
    CategoryForm,
    DispatchForm,
    DispatchRuleForm,
    MergeForm,
    RejectForm,
    RevealContactForm,
)
from apps.appeals.models import Appeal, Category, DispatchRule
from apps.appeals.privacy import mask_name, mask_phone
from apps.authorization.forms import ReasonRequestForm
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin
from apps.core.admin_forms import HistoryAdmin, LargeTableAdmin, ServiceAdminMixin
from apps.followups import services as followup_services
from apps.organization.models import User
from apps.tasks import services as task_services

R = User.Role
INTAKE_ROLES = {R.OPERATOR, R.DISPATCHER}


@admin.register(Category)
class CategoryAdmin(ServiceAdminMixin, HistoryAdmin):
    form = CategoryForm
    list_display = ["full_name", "code", "is_leaf", "is_active"]
    list_filter = ["is_leaf", "is_active", "depth"]
    search_fields = ["name", "full_name", "^code"]
    autocomplete_fields = ["parent"]
    ordering = ["path"]
    list_per_page = 100

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        # Appeals are classified on active leaves only: the intake autocomplete offers no others.
        if request.GET.get("model_name") == "appeal" and request.GET.get("field_name") == "category":
            queryset = queryset.filter(is_leaf=True, is_active=True)
        return queryset, distinct


@admin.register(DispatchRule)
class DispatchRuleAdmin(ServiceAdminMixin, HistoryAdmin, LargeTableAdmin):
    form = DispatchRuleForm
    list_display = ["category", "area", "lead_department", "route_to_local_street", "is_active"]
    list_filter = ["is_active", "route_to_local_street"]
    list_select_related = ["category", "area", "lead_department"]
    search_fields = ["category__full_name", "^category__code", "lead_department__name", "area__name"]
    autocomplete_fields = ["category", "area", "lead_department", "co_departments"]

    def has_delete_permission(self, request, obj=None):
        return False


def _intake_allowed(user, appeal):
    return user.role in INTAKE_ROLES and appeal.status == Appeal.Status.RECEIVED


def _dispatch(user, appeal, data):
    from apps.tasks.services import appeal_dispatch

    appeal_dispatch(
        actor=user,
        appeal=appeal,
        lead=data["lead"],
        co=list(data["co"]),
        override_reason=data["override_reason"],
        expected_version=data["version"],
    )
    return _("Appeal %(number)s dispatched to %(dept)s.") % {"number": appeal, "dept": data["lead"]}


def _answer(user, appeal, data):
    followup_services.appeal_answer_and_sample(
        actor=user, appeal=appeal, answer=data["answer"], expected_version=data["version"]
    )
    return _("Appeal %(number)s answered directly.") % {"number": appeal}


def _reject(user, appeal, data):
    services.appeal_reject(
        actor=user, appeal=appeal, route=data["route"], reason=data["reason"], expected_version=data["version"]
    )
    return _("Appeal %(number)s not accepted; the citizen was told the lawful route.") % {"number": appeal}


def _merge(user, appeal, data):
    services.appeal_merge(
        actor=user, appeal=appeal, into=data["into"], reason=data["reason"], expected_version=data["version"]
    )
    return _("Appeal %(number)s merged into %(into)s.") % {"number": appeal, "into": data["into"]}


def _reveal(user, appeal, data):
    contact = task_services.appeal_reveal_contact(actor=user, appeal=appeal, reason=data["reason"])
    return _("Citizen: %(name)s, phone %(phone)s (this view is logged).") % {
        "name": contact["name"] or "-",
        "phone": contact["phone"] or "-",
    }


def _request(kind):
    def perform(user, appeal, data):
        from apps.authorization.services import approval_request

        approval_request(actor=user, kind=kind, appeal=appeal, reason=data["reason"])
        return _("Request sent to the leaders for a decision.")

    return perform


@admin.register(Appeal)
class AppealAdmin(ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    """Operators record appeals here; dispatchers dispatch them. Status changes only via the
    buttons on the change page (each calls one service)."""

    add_form = AppealIntakeForm
    list_display = [
        "tracking_number",
        "received_at",
        "priority",
        "status",
        "category_name",
        "area",
        "channel",
        "masked_phone",
    ]
    list_filter = ["status", "priority", "is_escalated", "is_excluded_from_appraisal", "channel", "appeal_type"]
    list_select_related = ["category", "area"]
    list_defer = ("content", "search_text", "answer", "reject_reason", "exclusion_reason")  # never in the list
    search_fields = ["=tracking_number"]  # the real search is get_search_results below
    search_help_text = _("Tracking number, phone number, or words of the content or address.")
    autocomplete_fields = ["category", "area"]
    ordering = ["-received_at", "-id"]
    change_form_template = "admin/appeals/appeal/change_form.html"
    object_actions = [
        ObjectAction(
            "dispatch",
            _("Dispatch"),
            DispatchForm,
            _dispatch,
            lambda u, a: u.role == R.DISPATCHER and a.status == Appeal.Status.RECEIVED,
        ),
        ObjectAction("answer", _("Answer directly"), AnswerForm, _answer, _intake_allowed),
        ObjectAction("merge", _("Merge into an earlier appeal"), MergeForm, _merge, _intake_allowed),
        ObjectAction("reject", _("Not accepted (out of scope)"), RejectForm, _reject, _intake_allowed, "danger"),
        ObjectAction(
            "reveal",
            _("Show contact details"),
            RevealContactForm,
            _reveal,
            lambda u, a: u.has_perm("appeals.view_citizen_contact"),
        ),
        ObjectAction(
            "request_exclusion",
            _("Request exclusion from appraisal"),
            ReasonRequestForm,
            _request("exclusion"),
            lambda u, a: u.role in INTAKE_ROLES and not a.is_excluded_from_appraisal,
        ),
        ObjectAction(
            "request_escalation",
            _("Request escalation to the city government"),
            ReasonRequestForm,
            _request("escalation"),
            lambda u, a: (
                u.role in INTAKE_ROLES
                and not a.is_escalated
                and a.status in {Appeal.Status.RECEIVED, Appeal.Status.DISPATCHED}
            ),
        ),
    ]

    # --- queryset and permissions ------------------------------------------------------------

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.role == R.CITY_LEADER:
            return qs.filter(Q(is_escalated=True) | Q(priority=Appeal.Priority.P0))
        return qs

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        return selectors.appeal_search(queryset, search_term), False

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = type("AppealIntakeForm", (AppealIntakeForm,), {"actor": request.user})
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return AppealIntakeForm.Meta.fields
        return [
            "tracking_number",
            "status",
            "received_at",
            "received_by",
            "channel",
            "appeal_type",
            "priority",
            "category",
            "area",
            "address",
            "content",
            "citizen_contact",
            "is_anonymous",
            "is_confidential",
            "answer",
            "reject_route",
            "reject_reason",
            "merged_into",
            "is_escalated",
            "escalated_at",
            "is_excluded_from_appraisal",
            "exclusion_reason",
            "work_orders",
            "approvals",
            "likely_duplicates",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_form(self, request, form, change):
        return form.result

    def save_model(self, request, obj, form, change):
        pass  # appeal_register saved it during validation

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        # After recording, stay on the appeal: the operator concludes it next.
        self.message_user(request, _("Appeal %(number)s recorded.") % {"number": obj.tracking_number})
        return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[obj.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- display -------------------------------------------------------------------------------

    @admin.display(description=_("category"), ordering="category__path")
    def category_name(self, obj):
        return obj.category.name

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return mask_phone(obj.citizen_phone)

    @admin.display(description=_("citizen"))
    def citizen_contact(self, obj):
        if obj.is_anonymous:
            return _("anonymous")
        return f"{mask_name(obj.citizen_name)} {mask_phone(obj.citizen_phone)}"

    @admin.display(description=_("work orders"))
    def work_orders(self, obj):
        tasks = obj.tasks.select_related("department").order_by("dispatched_at", "id")
        return (
            format_html_join(
                "",
                "<div><a href='{}'>{}</a> · {} · {}</div>",
                (
                    (
                        reverse("admin:tasks_task_change", args=[t.pk]),
                        t.department,
                        t.get_role_display(),
                        t.get_status_display(),
                    )
                    for t in tasks
                ),
            )
            or "-"
        )

    @admin.display(description=_("requests for a leader's decision"))
    def approvals(self, obj):
        from apps.authorization.display import approvals_html

        return approvals_html(obj.approval_requests.all())

    @admin.display(description=_("likely duplicates (30 days)"))
    def likely_duplicates(self, obj):
        if obj.status != Appeal.Status.RECEIVED:
            return "-"
        rows = selectors.appeal_likely_duplicates(obj)
        if not rows:
            return _("none found")
        return format_html_join(
            "",
            "<div><a href='{}'>{}</a> · {} · {} · {}</div>",
            (
                (
                    reverse("admin:appeals_appeal_change", args=[a.pk]),
                    a.tracking_number,
                    a.received_at.strftime("%Y-%m-%d"),
                    a.category.name,
                    a.get_status_display(),
                )
                for a in rows
            ),
        )

    def action_summary(self, request, obj):
        rows = [
            (_("tracking number"), obj.tracking_number),
            (_("category"), obj.category),
            (_("area"), obj.area),
            (_("priority"), obj.get_priority_display()),
            (_("content"), obj.content),
        ]
        if obj.status == Appeal.Status.RECEIVED:
            dups = selectors.appeal_likely_duplicates(obj)
            if dups:
                rows.append(
                    (
                        _("likely duplicates"),
                        format_html_join(", ", "{} ({})", ((a.tracking_number, a.category.name) for a in dups)),
                    )
                )
            suggestion = selectors.dispatch_suggestion(category=obj.category, area=obj.area)
            rows.append(
                (
                    _("dispatch catalogue suggests"),
                    format_html(
                        "{} {}",
                        suggestion.lead or "-",
                        "+ " + "、".join(str(d) for d in suggestion.co) if suggestion.co else "",
                    ),
                )
            )
        return rows
