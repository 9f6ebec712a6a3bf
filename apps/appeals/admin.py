from django.contrib import admin
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.appeals import admin_desk, selectors, services
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
from apps.authorization.forms import ReasonRequestForm
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin, ShownOnce
from apps.core.admin_desk import CaseDeskMixin
from apps.core.admin_forms import HistoryAdmin, LargeTableAdmin, ServiceAdminMixin
from apps.core.personal_data import mask_phone
from apps.followups import services as followup_services
from apps.organization.models import User
from apps.tasks import permissions as task_permissions
from apps.tasks import services as task_services
from apps.tasks.models import Task

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
    # Shown on the answer page only: a message would keep the number until the next page.
    return ShownOnce(
        _("Citizen: %(name)s, phone %(phone)s (this view is logged).")
        % {"name": contact["name"] or "-", "phone": contact["phone"] or "-"}
    )


def _request(kind):
    def perform(user, appeal, data):
        from apps.authorization.services import approval_request

        approval_request(actor=user, kind=kind, appeal=appeal, reason=data["reason"])
        return _("Request sent to the leaders for a decision.")

    return perform


@admin.register(Appeal)
class AppealAdmin(CaseDeskMixin, ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
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
    list_defer = Appeal.NOT_IN_LISTS  # the phone stays: the list shows it masked
    search_fields = ["=tracking_number"]  # the real search is get_search_results below
    search_help_text = _("Tracking number, phone number, or words of the content or address.")
    autocomplete_fields = ["category", "area"]
    ordering = ["-received_at", "-id"]
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
            lambda u, a: task_permissions.can_reveal_contact(u, a),
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
        if selectors.contact_search_refused(request.user, search_term):
            self.message_user(
                request,
                _(
                    "A phone or ID number is searched among the words only: "
                    "your role may not look citizens up by their number."
                ),
            )
        return selectors.appeal_search(queryset, search_term, user=request.user), False

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = type("AppealIntakeForm", (AppealIntakeForm,), {"actor": request.user})
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return AppealIntakeForm.Meta.fields  # the add page; the change page is the case desk

    def save_form(self, request, form, change):
        return form.result

    def save_model(self, request, obj, form, change):
        pass  # appeal_register saved it during validation

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        # After recording, stay on the appeal: the operator concludes it next, or it waits
        # for a dispatcher (the page's "what happens next" says which).
        self.message_user(
            request,
            _("Appeal %(number)s recorded. It now waits for a dispatcher, unless you conclude it here.")
            % {"number": obj.tracking_number},
        )
        return HttpResponseRedirect(reverse("admin:appeals_appeal_change", args=[obj.pk]))

    def build_desk(self, request, obj):
        task_admin = self.admin_site.get_model_admin(Task) if self.admin_site.is_registered(Task) else None
        visible = set()
        if task_admin is not None:
            visible = set(task_admin.get_queryset(request).filter(appeal=obj).values_list("pk", flat=True))

        def task_link(task):
            return reverse("admin:tasks_task_change", args=[task.pk]) if task.pk in visible else ""

        return admin_desk.appeal_desk(obj, request.user, task_link=task_link)

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

    def action_panels(self, request, obj, action):
        """The appeal, and while it waits at the centre its likely duplicates and what the
        dispatch catalogue suggests (the dispatch and merge pages decide on these)."""
        facts = admin_desk.appeal_panel(obj)
        if action.name == "reveal":
            return [facts]
        return [*[p for p in admin_desk.intake_panels(obj, request.user) if p.key != "next"], facts]
