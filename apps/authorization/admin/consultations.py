"""Consultations (会商): leaders open them and conclude them; invited departments give
their opinions."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.appeals.forms import department_autocomplete
from apps.authorization import consultations
from apps.authorization.admin.common import AppealPickerMixin, DefaultOpenFilter, ScopedReadOnlyAdmin, late_flag, when
from apps.authorization.models import Consultation, ConsultationInvite
from apps.core.admin_actions import ActionForm, ObjectAction
from apps.core.admin_forms import ReadOnlyAdminMixin, ServiceAdminMixin, ServiceModelForm
from apps.organization.models import Department
from apps.tasks.permissions import DEPARTMENT_ROLES


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
            return format_html("{} {}", _("missing"), late_flag(obj.is_late))
        return late_flag(obj.is_late)


class ConcludeForm(ActionForm):
    decision = forms.CharField(label=_("decision"), widget=forms.Textarea(attrs={"rows": 5}))


def _conclude(user, consultation, data):
    consultations.consultation_conclude(actor=user, consultation=consultation, decision=data["decision"])
    return _("Consultation concluded; the departments are told the decision.")


class ConsultationStateFilter(DefaultOpenFilter):
    title = _("status")
    open_q = Q(status=Consultation.Status.OPEN)
    done_q = Q(status=Consultation.Status.CONCLUDED)


@admin.register(Consultation)
class ConsultationAdmin(AppealPickerMixin, ServiceAdminMixin, ScopedReadOnlyAdmin):
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
            (_("opinions due by"), when(obj.deadline)),
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


class InviteStateFilter(DefaultOpenFilter):
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
        return when(obj.consultation.deadline)

    @admin.display(description=_("late"))
    def late(self, obj):
        return late_flag(obj.is_late)

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
            (_("opinions due by"), when(c.deadline)),
            (_("department"), obj.department),
        ]
