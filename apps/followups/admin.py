from django.contrib import admin
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.appeals.models import Appeal
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin, ShownOnce
from apps.core.admin_desk import CaseDeskMixin, Panel
from apps.core.admin_forms import DefaultChoiceFilter, HistoryAdmin, LargeTableAdmin, ReadOnlyAdminMixin
from apps.core.personal_data import mask_phone
from apps.core.timefmt import local_minute
from apps.followups import admin_desk, permissions, selectors, services
from apps.followups.forms import OutcomeForm, StartCallForm, UnreachedForm
from apps.followups.models import Visit, VisitFlag
from apps.organization.models import User
from apps.tasks import services as task_services

R = User.Role


def _start(user, visit, data):
    # Over the reveal limit, refused (and the refusal logged) before the call starts: inside
    # the transaction below, the refusal's record would be rolled back with the call.
    task_services.contact_reveal_refuse_if_limited(actor=user, appeal=visit.appeal, reason=_("return visit call"))
    # One unit: the call is started only if the number to dial can be shown (and logged).
    with transaction.atomic():
        visit = services.visit_start_call(actor=user, visit=visit, expected_version=data["version"])
        contact = services.visit_call_contact(actor=user, visit=visit)
    if contact is None:
        return _("Call started: record the outcome when it ends.")
    # On the answer page only: a message would keep the number until the next page.
    return ShownOnce(_("Call started: dial %(phone)s (%(name)s), then record the outcome.") % contact)


def _unreached(user, visit, data):
    visit = services.visit_record_unreached(
        actor=user, visit=visit, note=data["note"], expected_version=data["version"]
    )
    if visit.status == Visit.Status.UNREACHABLE:
        return _("Third attempt: the visit is closed as unreachable and the appeal is closed.")
    return _("Attempt recorded; try again on another working day.")


def _record(user, visit, data):
    visit = services.visit_record_outcome(
        actor=user,
        visit=visit,
        resolved=data["resolved"],
        satisfaction=data["satisfaction"],
        citizen_words=data["citizen_words"],
        fault=data["fault"],
        fault_note=data["fault_note"],
        expected_version=data["version"],
    )
    if visit.reopened:
        return _("Visit recorded; the work order is reopened for the department.")
    return _("Visit recorded.")


def _may_start(user, visit):
    return visit.status == Visit.Status.SCHEDULED and permissions.may_record(user, visit)


def _in_call(user, visit):
    return (
        visit.status == Visit.Status.SCHEDULED
        and visit.assigned_to_id == user.pk
        and visit.call_started_at is not None
        and permissions.may_record(user, visit)
    )


class QueueFilter(DefaultChoiceFilter):
    """Agents land on their queue (visits to make, due first); "all" lists every visit."""

    title = _("queue")
    parameter_name = "queue"
    default_label = _("to visit, due first")

    def lookups(self, request, model_admin):
        return [("all", _("all visits")), ("flagged", _("flagged by the formality checks"))]

    def queryset(self, request, queryset):
        if self.value() == "flagged":
            return queryset.filter(is_flagged=True)
        if self.value() == "all":
            return queryset
        return queryset.filter(status=Visit.Status.SCHEDULED)


@admin.register(Visit)
class VisitAdmin(CaseDeskMixin, ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    """The return-visit workbench: scheduled visits due first; start the call, then record
    the outcome or an unanswered attempt."""

    list_display = [
        "tracking_number",
        "kind",
        "round",
        "status",
        "due",
        "attempt_count",
        "assigned_to",
        "department",
        "satisfaction",
        "flagged",
    ]
    list_filter = [QueueFilter, "kind", "status", "satisfaction"]
    list_select_related = ["appeal", "department", "assigned_to"]
    list_defer = (*(f"appeal__{name}" for name in Appeal.NOT_IN_LISTS), "appeal__citizen_phone")
    search_fields = ["=appeal__tracking_number"]
    object_actions = [
        ObjectAction("start", _("Start the call"), StartCallForm, _start, _may_start),
        ObjectAction("record", _("Record the outcome"), OutcomeForm, _record, _in_call),
        ObjectAction("unreached", _("Not reached"), UnreachedForm, _unreached, _in_call, "danger"),
    ]

    def get_queryset(self, request):
        qs = selectors.with_flag_marker(super().get_queryset(request))
        return selectors.visit_list_for(request.user, qs)

    def get_ordering(self, request):
        return ["due_at", "id"]

    def has_add_permission(self, request):
        return False  # scheduled by the services when a reply is accepted

    def has_change_permission(self, request, obj=None):
        return False  # changed only through the action buttons

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("tracking number"), ordering="appeal__tracking_number")
    def tracking_number(self, obj):
        return obj.appeal.tracking_number

    @admin.display(description=_("visit by"), ordering="due_at")
    def due(self, obj):
        text = local_minute(obj.due_at)
        if obj.status == Visit.Status.SCHEDULED and obj.due_at <= timezone.now():
            return format_html('<strong class="late-flag">{}</strong>', text)
        return text

    @admin.display(description=_("flagged"), boolean=True)
    def flagged(self, obj):
        return getattr(obj, "is_flagged", False)

    def build_desk(self, request, obj):
        return admin_desk.visit_desk(obj, request.user)

    def action_panels(self, request, obj, action):
        """The call: what the citizen is asked about (the reply or the direct answer) and
        what they said last time."""
        appeal = obj.appeal
        call = Panel("call", _("The call"), [
            (_("tracking number"), appeal.tracking_number),
            (_("citizen phone"), mask_phone(appeal.citizen_phone) or _("anonymous")),
            (_("attempts so far"), str(obj.attempt_count)),
        ])
        return [call, *admin_desk.answer_panels(obj), admin_desk.earlier_panel(obj)]


@admin.register(VisitFlag)
class VisitFlagAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """Flagged visits with their evidence, for inspectors."""

    list_display = ["tracking_number", "kind", "agent", "evidence_text", "detected_at", "visit_link"]
    list_filter = ["kind"]
    list_select_related = ["visit__appeal", "agent"]
    list_defer = (*(f"visit__appeal__{name}" for name in Appeal.NOT_IN_LISTS), "visit__appeal__citizen_phone")
    search_fields = ["=visit__appeal__tracking_number"]
    fields = ["visit", "kind", "agent", "evidence_text", "detected_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.flags_for(request.user, super().get_queryset(request))


    @admin.display(description=_("tracking number"))
    def tracking_number(self, obj):
        return obj.visit.appeal.tracking_number

    @admin.display(description=_("evidence"))
    def evidence_text(self, obj):
        return format_html_join(
            "", "<div><b>{}</b>: {}</div>", ((k, v) for k, v in sorted((obj.evidence or {}).items()))
        )

    @admin.display(description=_("return visit"))
    def visit_link(self, obj):
        from django.urls import reverse

        return format_html(
            '<a href="{}">{}</a>', reverse("admin:followups_visit_change", args=[obj.visit_id]), _("open")
        )
