from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.appeals.forms import RevealContactForm
from apps.appeals.models import Appeal
from apps.appeals.selectors import appeal_search
from apps.authorization.display import holders_text
from apps.authorization.forms import ExtensionRequestForm, ReasonRequestForm, ReassignRequestForm
from apps.authorization.selectors import approval_holders
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin, ShownOnce
from apps.core.admin_desk import CaseDeskMixin, Panel
from apps.core.admin_forms import (
    DefaultChoiceFilter,
    HistoryAdmin,
    LargeTableAdmin,
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
)
from apps.core.exceptions import DomainError
from apps.core.timefmt import countdown
from apps.followups import services as followup_services
from apps.organization.models import User
from apps.tasks import admin_desk, permissions, services, sla
from apps.tasks.forms import (
    ContactForm,
    ReplyForm,
    ReturnDecisionForm,
    ReturnRequestForm,
    ReviewForm,
    SignForm,
    SlaRuleForm,
)
from apps.tasks.models import Reminder, SlaRule, Task

R = User.Role
S = Task.Status


@admin.register(SlaRule)
class SlaRuleAdmin(ServiceAdminMixin, HistoryAdmin):
    form = SlaRuleForm
    list_display = ["priority", "appeal_type", "category", "sign_limit", "contact_limit", "resolve_limit", "is_active"]
    list_filter = ["priority", "is_active"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("sign for"))
    def sign_limit(self, obj):
        return f"{obj.sign_amount} {obj.get_sign_unit_display()}"

    @admin.display(description=_("contact"))
    def contact_limit(self, obj):
        return f"{obj.contact_amount} {obj.get_contact_unit_display()}"

    @admin.display(description=_("resolve"))
    def resolve_limit(self, obj):
        return f"{obj.resolve_amount} {obj.get_resolve_unit_display()}"


class OpenFilter(DefaultChoiceFilter):
    """Open work orders by default: the workbench is about what still needs doing."""

    title = _("open or closed")
    default_label = _("open")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("closed", _("closed")), ("all", _("all"))]

    def queryset(self, request, queryset):
        if self.value() == "all" or request.GET.get("status__exact"):
            return queryset
        if self.value() == "closed":
            return queryset.exclude(status__in=Task.OPEN_STATUSES)
        return queryset.filter(status__in=Task.OPEN_STATUSES)


class LightFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "light"

    def lookups(self, request, model_admin):
        return [("red", _("overdue")), ("24h", _("due within 24 hours"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "red":
            return queryset.filter(next_due_at__lte=now)
        if self.value() == "24h":
            return queryset.filter(next_due_at__gt=now, next_due_at__lte=now + timezone.timedelta(hours=24))
        return queryset


class ScopeFilter(admin.SimpleListFilter):
    """Department staff: their department's own work orders, or those shared with it."""

    title = _("whose")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        if request.user.role in permissions.DEPARTMENT_ROLES:
            return [("shared", _("shared with my department (co-handling)"))]
        return []

    def queryset(self, request, queryset):
        return queryset  # applied in TaskAdmin.get_queryset, which knows the user


def _mine(user, task):
    return user.role in permissions.DEPARTMENT_ROLES and user.department_id == task.department_id


def _sign(user, task, data):
    services.task_sign(actor=user, task=task, expected_version=data["version"])
    return _("Signed for.")


def _request_return(user, task, data):
    services.task_request_return(actor=user, task=task, reason=data["reason"], expected_version=data["version"])
    return _("Return requested; the centre decides.")


def _contact(user, task, data):
    services.task_record_contact(
        actor=user,
        task=task,
        contacted_at=data["contacted_at"],
        method=data["method"],
        note=data["note"],
        expected_version=data["version"],
    )
    return _("Contact recorded.")


def _reply(user, task, data):
    services.task_reply(
        actor=user,
        task=task,
        result=data["result"],
        reply_text=data["reply_text"],
        policy_basis=data["policy_basis"],
        expected_version=data["version"],
    )
    return _("Reply sent to the centre for review.")


def _review(user, task, data):
    accept = data["decision"] == "accept"
    followup_services.task_review_and_schedule(
        actor=user, task=task, accept=accept, comment=data["comment"], expected_version=data["version"]
    )
    return _("Reply accepted.") if accept else _("Reply sent back to the department.")


def _decide_return(user, task, data):
    approve = data["decision"] == "approve"
    result = services.task_decide_return(
        actor=user,
        task=task,
        approve=approve,
        comment=data["comment"],
        reassign_to=data["reassign_to"],
        expected_version=data["version"],
    )
    if approve:
        return _("Return approved; reassigned to %(dept)s.") % {"dept": result.department}
    return _("Return refused; the department keeps the work order.")


def _reveal(user, task, data):
    contact = services.appeal_reveal_contact(actor=user, appeal=task.appeal, reason=data["reason"])
    # Shown on the answer page only: a message would keep the number until the next page.
    return ShownOnce(
        _("Citizen: %(name)s, phone %(phone)s (this view is logged).")
        % {"name": contact["name"] or "-", "phone": contact["phone"] or "-"}
    )


def _request(kind):
    def perform(user, task, data):
        from apps.authorization.services import approval_request

        request = approval_request(
            actor=user,
            kind=kind,
            task=task,
            reason=data["reason"],
            extension_days=data.get("days"),
            target_department=data.get("target_department"),
        )
        holders = approval_holders([request.pk]).get(request.pk, [])
        return _("Request sent for a decision to %(holders)s.") % {"holders": holders_text(holders)}

    return perform


def _reveal_allowed(user, task):
    return permissions.can_reveal_contact(user, task.appeal)


@admin.register(Task)
class TaskAdmin(CaseDeskMixin, ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    """Department staff: "my department's open work orders, most urgent first". Dispatchers:
    return requests and replies to review (status filter). Read-only fields; every change
    goes through a button and its service."""

    list_display = [
        "light_badge",
        "tracking_number",
        "category_name",
        "department",
        "role",
        "status_text",
        "next_due_at",
        "time_left",
        "priority",
    ]
    list_display_links = ["tracking_number"]
    list_filter = [OpenFilter, "status", LightFilter, "role", ScopeFilter]
    list_select_related = ["appeal", "appeal__category", "department"]
    # The columns the rows read (the light and the time left: the state, the limits and
    # when each was met), and nothing else: a work order row is wide, its appeal wider.
    list_only = (
        "id",
        "role",
        "status",
        "dispatched_at",
        "sign_due_at",
        "contact_due_at",
        "resolve_due_at",
        "next_due_at",
        "signed_at",
        "contacted_at",
        "reopen_count",
        "appeal",
        "appeal__tracking_number",
        "appeal__priority",
        "appeal__category",
        "appeal__category__name",
        "department",
        "department__name",
    )
    search_fields = ["=appeal__tracking_number"]  # the real search is get_search_results below
    search_help_text = _("Tracking number, or words of the appeal's content or address.")
    ordering = ["next_due_at", "id"]
    actions = ["sign_selected"]
    object_actions = [
        ObjectAction("sign", _("Sign for"), SignForm, _sign, lambda u, t: _mine(u, t) and t.status == S.PENDING_SIGN),
        ObjectAction(
            "contact",
            _("Record contact with the citizen"),
            ContactForm,
            _contact,
            lambda u, t: _mine(u, t) and t.status == S.IN_PROGRESS and t.contacted_at is None,
        ),
        ObjectAction("reply", _("Reply"), ReplyForm, _reply, lambda u, t: _mine(u, t) and t.status == S.IN_PROGRESS),
        ObjectAction(
            "request_return",
            _("Request return (not ours)"),
            ReturnRequestForm,
            _request_return,
            lambda u, t: _mine(u, t) and t.status in {S.PENDING_SIGN, S.IN_PROGRESS},
            "danger",
        ),
        ObjectAction(
            "review",
            _("Review the reply"),
            ReviewForm,
            _review,
            lambda u, t: u.role == R.DISPATCHER and t.status == S.REPLIED,
        ),
        ObjectAction(
            "decide_return",
            _("Decide the return request"),
            ReturnDecisionForm,
            _decide_return,
            lambda u, t: u.role == R.DISPATCHER and t.status == S.RETURN_REQUESTED,
        ),
        ObjectAction("reveal", _("Show the citizen's contact details"), RevealContactForm, _reveal, _reveal_allowed),
        # Requests for a leader's decision (apps.authorization).
        ObjectAction(
            "request_extension",
            _("Request an extension"),
            ExtensionRequestForm,
            _request("extension"),
            lambda u, t: _mine(u, t) and t.status in {S.PENDING_SIGN, S.IN_PROGRESS},
        ),
        ObjectAction(
            "request_closure",
            _("Request closure as not resolvable"),
            ReasonRequestForm,
            _request("closure"),
            lambda u, t: _mine(u, t) and t.status in {S.IN_PROGRESS, S.REPLIED},
        ),
        ObjectAction(
            "request_escalation",
            _("Request escalation to the city government"),
            ReasonRequestForm,
            _request("escalation"),
            lambda u, t: (_mine(u, t) or u.role == R.DISPATCHER) and t.is_open and not t.appeal.is_escalated,
        ),
        ObjectAction(
            "request_reassignment",
            _("Request reassignment (leader's approval)"),
            ReassignRequestForm,
            _request("return"),
            lambda u, t: u.role == R.DISPATCHER and t.status in {S.PENDING_SIGN, S.IN_PROGRESS},
        ),
    ]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        # Departments may not look citizens up by their phone number: a number is words.
        by_phone = request.user.role not in permissions.DEPARTMENT_ROLES
        appeals = appeal_search(Appeal.objects.all(), search_term, user=request.user, by_phone=by_phone)
        return queryset.filter(appeal__in=appeals.values("pk")), False

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        user = request.user
        if user.role in permissions.DEPARTMENT_ROLES and request.GET.get("scope") == "shared":
            return permissions.visible_tasks(user, qs).exclude(department_id=user.department_id)
        if user.role in permissions.DEPARTMENT_ROLES and not request.resolver_match.url_name.endswith("_changelist"):
            return permissions.visible_tasks(user, qs)  # change page: own or shared
        # The list: department roles see their department's tasks through the FK alone.
        return permissions.visible_tasks(user, qs, include_shared=False)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # fields are read-only; actions check their own rights

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        if request.user.role not in permissions.DEPARTMENT_ROLES:
            actions.pop("sign_selected", None)
        return actions

    @admin.action(description=_("Sign for the selected work orders"), permissions=["view"])
    def sign_selected(self, request, queryset):
        signed, refused = 0, []
        for task in queryset.filter(status=S.PENDING_SIGN)[:200]:
            try:
                services.task_sign(actor=request.user, task=task)
                signed += 1
            except DomainError as exc:  # one refusal must not stop the others
                refused.append(f"{task.appeal.tracking_number}: {exc}")
        self.message_user(
            request,
            ngettext("%d work order signed for.", "%d work orders signed for.", signed) % signed,
            messages.SUCCESS,
        )
        if refused:
            self.message_user(request, "; ".join(refused), messages.WARNING)

    # --- display -------------------------------------------------------------------------------

    @admin.display(description=_("light"))
    def light_badge(self, obj):
        colour = sla.light(obj)
        return format_html(
            '<span title="{}" class="light-dot light-{}"></span>',  # desk.css: no inline style (CSP)
            Task.Light(colour).label,
            colour,
        )

    @admin.display(description=_("tracking number"), ordering="appeal__tracking_number")
    def tracking_number(self, obj):
        return obj.appeal.tracking_number

    @admin.display(description=_("category"))
    def category_name(self, obj):
        return obj.appeal.category.name

    @admin.display(description=_("priority"), ordering="appeal__priority")
    def priority(self, obj):
        return obj.appeal.priority

    @admin.display(description=_("status"), ordering="status")
    def status_text(self, obj):
        """The state, and a reopened work order says so in the list (重办 ×N)."""
        if obj.reopen_count:
            return format_html(
                '{} <span class="badge badge-warn" title="{}">{}</span>',
                obj.get_status_display(),
                _("reopened after an unsatisfied return visit"),
                _("reopened ×%(n)d") % {"n": obj.reopen_count},
            )
        return obj.get_status_display()

    @admin.display(description=_("time left"))
    def time_left(self, obj):
        running = sla.running_deadlines(obj)
        return countdown(min(running.values())) if running else ""

    # --- the case desk and the action pages -----------------------------------------------------

    def build_desk(self, request, obj):
        link = ""
        if self.admin_site.is_registered(Appeal) and self.admin_site.get_model_admin(Appeal).has_view_permission(
            request, obj.appeal
        ):
            link = reverse("admin:appeals_appeal_change", args=[obj.appeal_id])
        return admin_desk.task_desk(obj, request.user, appeal_link=link)

    def action_panels(self, request, obj, action):
        appeal = obj.appeal
        panels = [admin_desk.appeal_panel(appeal)]
        if action.name == "review":
            panels.insert(0, admin_desk.reply_panel(obj))
        if action.name in {"contact", "reply", "request_extension", "request_closure"} and obj.reopen_count:
            visits = list(obj.visits.select_related("completed_by__department").order_by("round", "id"))
            panels.insert(0, admin_desk.reopen_panel(obj, visits))
        if action.name == "reply" and obj.contacted_at:
            panels.append(Panel("handling", _("Handling"), [
                (_("citizen contacted"), admin_desk.when_by(obj.contacted_at, obj.contacted_by)),
                (_("what was said or agreed"), obj.contact_note),
            ]))
        if action.name == "decide_return":
            panels.insert(0, Panel("return", _("Return request"), [
                (_("department"), obj.department.name),
                (_("return requested"), admin_desk.when_by(obj.return_requested_at, obj.return_requested_by)),
                (_("return reason"), obj.return_reason),
            ]))
        panels.append(admin_desk.limits_panel(obj))
        return panels


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdminMixin, HistoryAdmin, LargeTableAdmin):
    list_display = ["task", "kind", "due_at", "issued_at", "department"]
    list_filter = ["kind"]
    list_select_related = ["task__appeal", "task__department", "department"]
    readonly_fields = ["task", "kind", "due_at", "issued_at", "department"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.role in permissions.DEPARTMENT_ROLES:
            return qs.filter(department_id=request.user.department_id)
        return qs

