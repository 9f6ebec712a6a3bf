"""Instructions (批示): city leaders and leaders of a handling department issue them;
each receiving department acknowledges and reports on its receipt."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.appeals.forms import department_autocomplete
from apps.authorization import instructions
from apps.authorization.admin.common import AppealPickerMixin, DefaultOpenFilter, ScopedReadOnlyAdmin, late_flag, when
from apps.authorization.models import Instruction, InstructionReceipt
from apps.core.admin_actions import ActionForm, ObjectAction
from apps.core.admin_forms import ReadOnlyAdminMixin, ServiceAdminMixin, ServiceModelForm
from apps.organization.models import Department
from apps.tasks.permissions import DEPARTMENT_ROLES


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
class InstructionAdmin(AppealPickerMixin, ServiceAdminMixin, ScopedReadOnlyAdmin):
    """City leaders issue instructions here (pick the appeal; /add/?appeal=<id> pre-fills
    it); each receiving department's acknowledgement and report shows below."""

    form = InstructionForm
    list_display = ["tracking_number", "short_text", "issued_by", "issued_at", "respond_by", "progress"]
    list_select_related = ["appeal", "issued_by"]
    search_fields = ["=appeal__tracking_number"]
    search_help_text = _("Exact tracking number.")
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


class ReceiptStateFilter(DefaultOpenFilter):
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
        return when(obj.instruction.respond_by)

    @admin.display(description=_("late"))
    def late(self, obj):
        return late_flag(instructions.receipt_is_late(obj))

    @admin.display(description=_("instruction"))
    def instruction_summary(self, obj):
        i = obj.instruction
        return format_html(
            "{} · {} {} ({})<br>{}<br>{} {}",
            i.appeal.tracking_number,
            _("issued by"),
            i.issued_by,
            when(i.issued_at),
            i.text,
            _("act on it by"),
            when(i.respond_by),
        )

    def action_summary(self, request, obj):
        i = obj.instruction
        return [
            (_("tracking number"), i.appeal.tracking_number),
            (_("instruction"), i.text),
            (_("issued by"), f"{i.issued_by} ({when(i.issued_at)})"),
            (_("act on it by"), when(i.respond_by)),
            (_("department"), obj.department),
        ]
