"""Admin pages of instructions (批示), rule adaptations (变通) and consultations (会商).

Thin: read-only fields, every change through a button (ObjectActionsMixin) or an add form
(ServiceModelForm) calling one service. Departments see only their own receipts and
invitations (404 otherwise); city leaders, inspectors and the centre read all.
Imported by apps/authorization/admin.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.appeals.forms import department_autocomplete
from apps.authorization import adaptations, consultations, instructions
from apps.authorization.models import Consultation, ConsultationInvite, Instruction, InstructionReceipt, RuleAdaptation
from apps.core.admin_actions import ActionForm, ObjectAction, ObjectActionsMixin
from apps.core.admin_forms import (
    DefaultChoiceFilter,
    HistoryAdmin,
    LargeTableAdmin,
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
    ServiceModelForm,
)
from apps.organization.models import Department, User
from apps.tasks.permissions import DEPARTMENT_ROLES

R = User.Role
CHANGE_FORM_WITH_BUTTONS = "admin/tasks/task/change_form.html"  # object-action buttons, nothing task-specific


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _flag(is_late: bool):
    return format_html('<span style="color:#c62828;font-weight:bold">{}</span>', _("late")) if is_late else ""


class ScopedReadOnlyAdmin(ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    """Read-only pages; 404 for objects outside the user's scope on the change page, the
    history list, each historical version and every action URL. No deletes."""

    change_form_template = CHANGE_FORM_WITH_BUTTONS

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self.get_object_or_404(request, object_id)
        if request.method == "POST":  # simple-history would save the old version (a revert)
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def has_change_permission(self, request, obj=None):
        return False  # changes go through the buttons, whose services check their own rights

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class _DefaultOpenFilter(DefaultChoiceFilter):
    """Open rows by default (what still needs doing); "all" on request."""

    parameter_name = "state"
    default_label = _("open")
    open_q: Q
    done_q: Q

    def lookups(self, request, model_admin):
        return [("done", _("done")), ("all", _("all"))]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        if self.value() == "done":
            return queryset.filter(self.done_q)
        return queryset.filter(self.open_q)


# --- Instructions ----------------------------------------------------------------------------


class InstructionForm(ServiceModelForm):
    change_reason = None  # the instruction's text is its own reason
    departments = forms.ModelMultipleChoiceField(
        Department.objects.filter(is_active=True),
        required=False,
        label=_("receiving departments"),
        widget=department_autocomplete(multiple=True),
        help_text=_("Empty: the departments handling the appeal's work orders."),
    )

    class Meta:
        model = Instruction
        fields = ["appeal", "text", "respond_by"]
        widgets = {"text": forms.Textarea(attrs={"rows": 5, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "respond_by" in self.fields:
            self.fields["respond_by"].required = False
            self.fields["respond_by"].help_text = _(
                "Empty: 24 hours for escalated and P0 appeals, otherwise two working days."
            )

    def _post_clean(self):
        self.instance.issued_by = self.actor  # set by the service; model validation needs one
        super()._post_clean()

    def run_service(self, *, actor, reason):
        d = self.cleaned_data
        return instructions.instruction_issue(
            actor=actor,
            appeal=d["appeal"],
            text=d["text"],
            respond_by=d.get("respond_by"),
            departments=list(d["departments"]),
        )


class ReceiptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InstructionReceipt
    fields = ["department", "acknowledged_at", "acknowledged_by", "acted_at", "action_note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("department", "acknowledged_by")
        return instructions.visible_receipts(request.user, qs)



@admin.register(Instruction)
class InstructionAdmin(ServiceAdminMixin, ScopedReadOnlyAdmin):
    """City leaders issue instructions here (pick the appeal; /add/?appeal=<id> pre-fills
    it); each receiving department's acknowledgement and report shows below."""

    form = InstructionForm
    list_display = ["tracking_number", "short_text", "issued_by", "issued_at", "respond_by", "progress"]
    list_select_related = ["appeal", "issued_by"]
    search_fields = ["=appeal__tracking_number"]
    search_help_text = _("Exact tracking number.")
    autocomplete_fields = ["appeal"]
    ordering = ["-issued_at", "-id"]
    inlines = [ReceiptInline]
    _display_fields = ["appeal", "issued_by", "issued_at", "text", "respond_by"]

    def get_queryset(self, request):
        qs = instructions.visible_instructions(request.user, super().get_queryset(request))
        return qs.annotate(
            n_receipts=Count("receipts"),
            n_acknowledged=Count("receipts", filter=Q(receipts__acknowledged_at__isnull=False)),
            n_acted=Count("receipts", filter=Q(receipts__acted_at__isnull=False)),
        )

    def get_fields(self, request, obj=None):
        return ["appeal", "text", "respond_by", "departments"] if obj is None else self._display_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self._display_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("Instruction issued; the departments are notified."))
        return HttpResponseRedirect(reverse("admin:authorization_instruction_change", args=[obj.pk]))

    @admin.display(description=_("tracking number"), ordering="appeal__tracking_number")
    def tracking_number(self, obj):
        return obj.appeal.tracking_number

    @admin.display(description=_("instruction"))
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 40 else obj.text[:40] + "…"

    @admin.display(description=_("acknowledged / acted on"))
    def progress(self, obj):
        return f"{obj.n_acknowledged}/{obj.n_receipts} · {obj.n_acted}/{obj.n_receipts}"


class AcknowledgeForm(ActionForm):
    pass


class RecordActionForm(ActionForm):
    note = forms.CharField(label=_("what your department did"), widget=forms.Textarea(attrs={"rows": 5}))


def _receives(user, receipt) -> bool:
    return user.role in DEPARTMENT_ROLES and user.department_id == receipt.department_id


def _acknowledge(user, receipt, data):
    instructions.instruction_acknowledge(actor=user, receipt=receipt)
    return _("Instruction acknowledged.")


def _record_action(user, receipt, data):
    instructions.instruction_record_action(actor=user, receipt=receipt, note=data["note"])
    return _("Report recorded; the leader is notified.")


class ReceiptStateFilter(_DefaultOpenFilter):
    title = _("acted on")
    open_q = Q(acted_at__isnull=True)
    done_q = Q(acted_at__isnull=False)


@admin.register(InstructionReceipt)
class InstructionReceiptAdmin(ScopedReadOnlyAdmin):
    """Departments: "instructions to act on", the most urgent first; acknowledge, then report."""

    list_display = [
        "tracking_number",
        "short_text",
        "issued_by",
        "department",
        "respond_by",
        "acknowledged_at",
        "acted_at",
        "late",
    ]
    list_filter = [ReceiptStateFilter]
    list_select_related = ["instruction__appeal", "instruction__issued_by", "department"]
    search_fields = ["=instruction__appeal__tracking_number"]
    search_help_text = _("Exact tracking number.")
    ordering = ["instruction__respond_by", "id"]
    fields = [
        "instruction_summary",
        "department",
        "acknowledged_at",
        "acknowledged_by",
        "acted_at",
        "action_note",
        "late",
    ]
    readonly_fields = fields
    object_actions = [
        ObjectAction(
            "acknowledge",
            _("Acknowledge"),
            AcknowledgeForm,
            _acknowledge,
            lambda u, r: _receives(u, r) and r.acknowledged_at is None,
        ),
        ObjectAction(
            "record_action",
            _("Report what was done"),
            RecordActionForm,
            _record_action,
            lambda u, r: _receives(u, r) and r.acknowledged_at is not None and r.acted_at is None,
        ),
    ]

    def get_queryset(self, request):
        qs = (
            super()
            .get_queryset(request)
            .select_related("instruction__appeal", "instruction__issued_by", "department", "acknowledged_by")
        )
        return instructions.visible_receipts(request.user, qs)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("tracking number"), ordering="instruction__appeal__tracking_number")
    def tracking_number(self, obj):
        return obj.instruction.appeal.tracking_number

    @admin.display(description=_("instruction"))
    def short_text(self, obj):
        text = obj.instruction.text
        return text if len(text) <= 40 else text[:40] + "…"

    @admin.display(description=_("issued by"))
    def issued_by(self, obj):
        return obj.instruction.issued_by

    @admin.display(description=_("act on it by"), ordering="instruction__respond_by")
    def respond_by(self, obj):
        return _when(obj.instruction.respond_by)

    @admin.display(description=_("late"))
    def late(self, obj):
        return _flag(instructions.receipt_is_late(obj))

    @admin.display(description=_("instruction"))
    def instruction_summary(self, obj):
        i = obj.instruction
        return format_html(
            "{} · {} {} ({})<br>{}<br>{} {}",
            i.appeal.tracking_number,
            _("issued by"),
            i.issued_by,
            _when(i.issued_at),
            i.text,
            _("act on it by"),
            _when(i.respond_by),
        )

    def action_summary(self, request, obj):
        i = obj.instruction
        return [
            (_("tracking number"), i.appeal.tracking_number),
            (_("instruction"), i.text),
            (_("issued by"), f"{i.issued_by} ({_when(i.issued_at)})"),
            (_("act on it by"), _when(i.respond_by)),
            (_("department"), obj.department),
        ]


# --- Rule adaptations --------------------------------------------------------------------------


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
            % {"start": _when(obj.valid_from), "end": _when(obj.valid_until)},
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
            (_("valid from"), _when(obj.valid_from)),
            (_("valid until"), _when(obj.valid_until)),
            (_("reason"), obj.reason),
        ]


# --- Consultations ---------------------------------------------------------------------------


class ConsultationForm(ServiceModelForm):
    change_reason = None  # the question is its own reason
    departments = forms.ModelMultipleChoiceField(
        Department.objects.filter(is_active=True),
        label=_("invited departments"),
        widget=department_autocomplete(multiple=True),
    )

    class Meta:
        model = Consultation
        fields = ["appeal", "topic", "question", "deadline"]
        widgets = {"question": forms.Textarea(attrs={"rows": 5, "cols": 80})}

    def _post_clean(self):
        self.instance.opened_by = self.actor
        super()._post_clean()

    def run_service(self, *, actor, reason):
        d = self.cleaned_data
        return consultations.consultation_open(
            actor=actor,
            topic=d["topic"],
            question=d["question"],
            deadline=d["deadline"],
            departments=list(d["departments"]),
            appeal=d.get("appeal"),
        )


class InviteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ConsultationInvite
    fields = ["department", "opinion", "opinion_by", "opinion_at", "late"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("consultation", "department", "opinion_by")
        return consultations.visible_invites(request.user, qs)


    @admin.display(description=_("late"))
    def late(self, obj):
        if obj.opinion_at is None:
            return format_html("{} {}", _("missing"), _flag(obj.is_late))
        return _flag(obj.is_late)


class ConcludeForm(ActionForm):
    decision = forms.CharField(label=_("decision"), widget=forms.Textarea(attrs={"rows": 5}))


def _conclude(user, consultation, data):
    consultations.consultation_conclude(actor=user, consultation=consultation, decision=data["decision"])
    return _("Consultation concluded; the departments are told the decision.")


class ConsultationStateFilter(_DefaultOpenFilter):
    title = _("status")
    open_q = Q(status=Consultation.Status.OPEN)
    done_q = Q(status=Consultation.Status.CONCLUDED)


@admin.register(Consultation)
class ConsultationAdmin(ServiceAdminMixin, ScopedReadOnlyAdmin):
    """Leaders open consultations and conclude them; the invited departments' opinions show
    below, missing and late ones flagged."""

    form = ConsultationForm
    list_display = [
        "topic",
        "opened_by",
        "opened_at",
        "deadline",
        "answers",
        "status",
        "concluded_at",
        "duration_display",
    ]
    list_filter = [ConsultationStateFilter]
    list_select_related = ["opened_by", "appeal"]
    search_fields = ["topic", "=appeal__tracking_number"]
    autocomplete_fields = ["appeal"]
    ordering = ["-opened_at", "-id"]
    inlines = [InviteInline]
    _display_fields = [
        "topic",
        "appeal",
        "question",
        "opened_by",
        "opened_at",
        "deadline",
        "status",
        "decision",
        "concluded_at",
        "duration_display",
        "missing",
    ]
    object_actions = [
        ObjectAction(
            "conclude",
            _("Conclude with a decision"),
            ConcludeForm,
            _conclude,
            lambda u, c: u.pk == c.opened_by_id and c.status == Consultation.Status.OPEN,
        ),
    ]

    def get_queryset(self, request):
        qs = consultations.visible_consultations(request.user, super().get_queryset(request))
        return qs.annotate(
            n_invites=Count("invites"), n_answered=Count("invites", filter=Q(invites__opinion_at__isnull=False))
        )

    def get_fields(self, request, obj=None):
        return ["appeal", "topic", "question", "deadline", "departments"] if obj is None else self._display_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self._display_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("Consultation opened; the invited departments are notified."))
        return HttpResponseRedirect(reverse("admin:authorization_consultation_change", args=[obj.pk]))

    @admin.display(description=_("opinions"))
    def answers(self, obj):
        return f"{obj.n_answered}/{obj.n_invites}"

    @admin.display(description=_("duration"))
    def duration_display(self, obj):
        duration = obj.duration
        if duration is None:
            return "-"
        hours, rest = divmod(int(duration.total_seconds()), 3600)
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest // 60}

    @admin.display(description=_("no opinion from"))
    def missing(self, obj):
        names = [str(i.department) for i in consultations.invite_list_missing(consultation=obj)]
        return "、".join(names) or "-"

    def action_summary(self, request, obj):
        return [
            (_("topic"), obj.topic),
            (_("question"), obj.question),
            (_("opinions due by"), _when(obj.deadline)),
            (_("no opinion from"), self.missing(obj)),
        ]


class OpinionForm(ActionForm):
    opinion = forms.CharField(label=_("your department's opinion"), widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.obj is not None and not self.is_bound and self.obj.opinion:
            self.fields["opinion"].initial = self.obj.opinion  # revising: start from the opinion in force


def _give_opinion(user, invite, data):
    revised = invite.opinion_at is not None
    invite = consultations.consultation_give_opinion(actor=user, invite=invite, opinion=data["opinion"])
    message = _("Opinion revised.") if revised else _("Opinion recorded.")
    if invite.is_late:
        message = "{} {}".format(message, _("It came after the deadline and is marked late."))
    return message


class InviteStateFilter(_DefaultOpenFilter):
    title = pgettext_lazy("meeting", "consultation")
    open_q = Q(consultation__status=Consultation.Status.OPEN)
    done_q = Q(consultation__status=Consultation.Status.CONCLUDED)


@admin.register(ConsultationInvite)
class ConsultationInviteAdmin(ScopedReadOnlyAdmin):
    """Departments: "consultations to answer", nearest deadline first; give or revise the
    opinion while the consultation is open."""

    list_display = ["topic", "department", "deadline", "opinion_at", "late", "consultation_status"]
    list_filter = [InviteStateFilter]
    list_select_related = ["consultation", "department"]
    search_fields = ["consultation__topic"]
    ordering = ["consultation__deadline", "id"]
    fields = [
        "topic",
        "question",
        "deadline",
        "department",
        "opinion",
        "opinion_by",
        "opinion_at",
        "late",
        "consultation_status",
        "decision",
    ]
    readonly_fields = fields
    object_actions = [
        ObjectAction(
            "give_opinion",
            _("Give or revise the opinion"),
            OpinionForm,
            _give_opinion,
            lambda u, i: (
                u.role in DEPARTMENT_ROLES
                and u.department_id == i.department_id
                and i.consultation.status == Consultation.Status.OPEN
            ),
        ),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("consultation", "department", "opinion_by")
        return consultations.visible_invites(request.user, qs)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("topic"), ordering="consultation__topic")
    def topic(self, obj):
        return obj.consultation.topic

    @admin.display(description=_("question"))
    def question(self, obj):
        return obj.consultation.question

    @admin.display(description=_("opinions due by"), ordering="consultation__deadline")
    def deadline(self, obj):
        return _when(obj.consultation.deadline)

    @admin.display(description=_("late"))
    def late(self, obj):
        return _flag(obj.is_late)

    @admin.display(description=_("status"))
    def consultation_status(self, obj):
        return obj.consultation.get_status_display()

    @admin.display(description=_("decision"))
    def decision(self, obj):
        return obj.consultation.decision or "-"

    def action_summary(self, request, obj):
        c = obj.consultation
        return [
            (_("topic"), c.topic),
            (_("question"), c.question),
            (_("opinions due by"), _when(c.deadline)),
            (_("department"), obj.department),
        ]
