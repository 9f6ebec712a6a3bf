"""Inspectors' pages (history browser, responsibility, conduct flags), the supervision
ladder and accountability records. Thin: reads through timeline/responsibility/conduct,
writes through services."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.audit.services import record
from apps.casefile import timeline
from apps.core.admin_actions import ObjectAction, ObjectActionsMixin
from apps.core.admin_forms import HistoryAdmin, LargeTableAdmin, ReadOnlyAdminMixin, ServiceAdminMixin
from apps.core.form_input import DATE_MAX, DATE_MIN, parse_id
from apps.organization.models import Department, User
from apps.supervision import conduct, exports, permissions, responsibility, services
from apps.supervision.forms import AccountabilityForm, AnswerForm, CloseForm, HistoryQueryForm, PeriodForm
from apps.supervision.models import AccountabilityEvidence, AccountabilityRecord, SupervisionCase, TracedAppeal

PAGE_SIZE = 50

CONDUCT_DEFAULT_DAYS = 30


def _answer(user, case, data):
    services.case_answer(actor=user, case=case, note=data["note"], expected_version=data["version"])
    return _("Answer recorded.")


@admin.register(SupervisionCase)
class SupervisionCaseAdmin(ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    list_display = ["raised_at", "level", "department", "limit", "task", "answer_due_at", "answered_at"]
    list_filter = ["level", "limit", ("answered_at", admin.EmptyFieldListFilter)]
    list_select_related = ["department", "task__appeal", "task__department"]
    search_fields = ["=appeal__tracking_number"]
    readonly_fields = [
        "task", "appeal", "department", "limit", "level", "missed_due_at", "raised_at", "answer_due_at", "previous",
        "rectification_note", "answered_at", "answered_by",
    ]
    change_form_template = "admin/supervision/change_form.html"
    object_actions = [
        ObjectAction("answer", _("answer with a rectification note"), AnswerForm, _answer,
                     lambda user, case: case.answered_at is None and permissions.can_answer(user, case)),
    ]

    def get_queryset(self, request):
        return permissions.visible_cases(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # answered through the action, never by editing fields

    def has_delete_permission(self, request, obj=None):
        return False


class EvidenceInline(admin.TabularInline):
    model = AccountabilityEvidence
    fields = ["appeal", "entry_ref", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _close(user, rec, data):
    services.accountability_close(actor=user, record_=rec, reason=data["reason"], expected_version=data["version"])
    return _("Record closed. It can now only be amended by a new record.")


@admin.register(AccountabilityRecord)
class AccountabilityRecordAdmin(ServiceAdminMixin, ObjectActionsMixin, HistoryAdmin, LargeTableAdmin):
    form = AccountabilityForm
    list_display = ["id", "recorded_at", "subject_department", "subject_person", "sanction", "status", "recorded_by"]
    list_filter = ["status", "sanction"]
    list_select_related = ["subject_department", "subject_person", "recorded_by"]
    search_fields = ["=id", "subject_department__name", "subject_person__name"]
    autocomplete_fields = ["subject_department", "subject_person", "supersedes"]
    readonly_fields = ["status", "recorded_by", "recorded_at", "closed_by", "closed_at"]
    inlines = [EvidenceInline]
    change_form_template = "admin/supervision/change_form.html"
    object_actions = [
        ObjectAction("close", _("close the record"), CloseForm, _close,
                     lambda user, rec: not rec.is_closed and permissions.is_inspector(user)),
    ]

    def get_queryset(self, request):
        return permissions.visible_records(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # The subject and the amended record are fixed once recorded.
            return [*self.readonly_fields, "subject_department", "supersedes"]
        return self.readonly_fields

    def has_add_permission(self, request):
        return permissions.is_inspector(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_closed:
            return False
        return permissions.is_inspector(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def construct_change_message(self, request, form, formsets, add=False):
        # The evidence inline is read-only; evidence is added by the service from the form.
        return super().construct_change_message(request, form, [], add)


# --- The inspectors' pages ------------------------------------------------------------------


def _day_start(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)) if day else None


def _usable_cursor(cursor):
    """The "older entries" cursor from the address, or None (the first page) when it is not
    one this page wrote: an aware time within the product's dates, and ids (a naive or
    year-1 time overflows on its way to UTC; a huge id overflows the database's integers)."""
    if cursor is None:
        return None
    at, rank, pk = cursor
    if at.tzinfo is None or not DATE_MIN <= at.date() <= DATE_MAX:
        return None
    if parse_id(rank) is None or parse_id(pk) is None:
        return None
    return cursor


@admin.register(TracedAppeal)
class TracedAppealAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    """Find an appeal by tracking number; its page is the merged record and the
    responsibility timeline. Also the cross-appeal query and the conduct flags."""

    list_display = ["tracking_number", "status", "priority", "received_at", "category"]
    list_select_related = ["category"]
    search_fields = ["=tracking_number"]
    ordering = ["-received_at"]
    change_list_template = "admin/supervision/tracedappeal/change_list.html"

    def has_module_permission(self, request):
        return permissions.can_trace(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_trace(request.user)


    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("query/", view(self.query_view), name="supervision_history_query"),
            path("conduct/", view(self.conduct_view), name="supervision_conduct"),
            path("conduct/<str:rule>/", view(self.conduct_evidence_view), name="supervision_conduct_evidence"),
            path("<path:object_id>/history/", view(self.history_view), name="supervision_tracedappeal_history"),
            *super().get_urls(),
        ]

    def _guard(self, request):
        if not permissions.can_trace(request.user):
            raise PermissionDenied
        if request.method not in {"GET", "HEAD"}:
            raise PermissionDenied  # read-only pages

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}

    def history_view(self, request, object_id, extra_context=None):
        return self.change_view(request, object_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._guard(request)
        pk = parse_id(object_id)  # str.isdigit() takes "²", which int() refuses
        if pk is None:
            raise Http404
        appeal = TracedAppeal.objects.select_related("received_by", "category", "area").filter(pk=pk).first()
        if appeal is None:
            raise Http404
        keys = [k for k in request.GET.getlist("source") if k]
        entries = timeline.appeal_timeline(appeal.pk, source_keys=keys or None)
        field = request.GET.get("field", "").strip()
        if field:
            entries = [e for e in entries if any(c.field == field for c in e.changes)]
        duty = responsibility.appeal_responsibility(appeal)
        context = self._context(
            request, _("Record of appeal %(n)s") % {"n": appeal.tracking_number},
            appeal=appeal, entries=entries, duty=duty, sources=timeline.sources(), selected=keys, field=field,
            time_zone=timezone.get_current_timezone_name(),
        )
        return TemplateResponse(request, "admin/supervision/trace.html", context)

    def query_view(self, request):
        self._guard(request)
        form = HistoryQueryForm(request.GET or None, sources=timeline.sources())
        entries, cursor, query = [], None, None
        if form.is_valid():
            data = form.cleaned_data
            until = data.get("until")
            query = timeline.Query(
                person_id=data["person"].pk if data.get("person") else None,
                department_id=data["department"].pk if data.get("department") else None,
                sources=data.get("source") or None,
                action=(data.get("action") or "").strip(),
                since=_day_start(data.get("since")),
                until=_day_start(until + dt.timedelta(days=1)) if until else None,
            )
            fmt = request.GET.get("format")
            if fmt in {"csv", "xlsx"}:
                return self._export(request, query, fmt)
            before = _usable_cursor(timeline.decode_cursor(request.GET.get("before", "")))
            entries, cursor = timeline.query_page(query, before=before, limit=PAGE_SIZE)
        params = request.GET.copy()
        params.pop("before", None)
        params.pop("format", None)
        context = self._context(
            request, _("History query"), form=form, entries=entries, query=query,
            next_cursor=timeline.encode_cursor(cursor), params=params.urlencode(),
            max_rows=exports.EXPORT_MAX_ROWS, media=self.media + form.media,
        )
        return TemplateResponse(request, "admin/supervision/query.html", context)

    def _export(self, request, query, fmt):
        with transaction.atomic():
            record(actor=request.user, action="supervision.history_exported", changes={
                "format": fmt, "person": query.person_id, "department": query.department_id,
                "sources": query.sources, "action": query.action,
                "since": query.since, "until": query.until,
            })
        entries = timeline.query_iter(query, max_rows=exports.EXPORT_MAX_ROWS)
        name = f"history-{timezone.localdate():%Y%m%d}"
        if fmt == "csv":
            return exports.csv_response(entries, name)
        return exports.xlsx_response(entries, name)

    def conduct_view(self, request):
        self._guard(request)
        data = request.GET.copy()
        default_since = timezone.localdate() - dt.timedelta(days=CONDUCT_DEFAULT_DAYS)
        if "since" not in data and "until" not in data:
            # A first visit shows the last 30 days (a report period, and a bounded scan at a
            # million work orders); emptying both dates asks for all time.
            data["since"] = default_since.isoformat()
        form = PeriodForm(data)
        if form.is_valid():
            since = _day_start(form.cleaned_data.get("since"))
            u = form.cleaned_data.get("until")
            until = _day_start(u + dt.timedelta(days=1)) if u else None
        else:  # the form shows what is wrong; the figures stay on the default period
            since, until = _day_start(default_since), None
        by_dept = conduct.summary_by_department(since=since, until=until)
        by_person = conduct.summary_by_person(since=since, until=until)
        departments = Department.objects.in_bulk(list(by_dept))
        people = User.objects.select_related("department").in_bulk(list(by_person))
        columns = conduct.rule_columns()
        dept_rows = sorted(
            ((departments.get(pk), [counts.get(k, 0) for k, _k, _l in columns], sum(counts.values()))
             for pk, counts in by_dept.items()),
            key=lambda r: -r[2],
        )
        person_rows = sorted(
            ((people.get(pk), [counts.get(k, 0) for k, _k, _l in columns], sum(counts.values()))
             for pk, counts in by_person.items()),
            key=lambda r: -r[2],
        )
        params = data.urlencode()  # the drill-down counts the same period
        context = self._context(
            request, _("Conduct flags"), form=form, columns=columns, dept_rows=dept_rows[:200],
            person_rows=person_rows[:200], params=params,
        )
        return TemplateResponse(request, "admin/supervision/conduct.html", context)

    def conduct_evidence_view(self, request, rule):
        self._guard(request)
        if rule not in conduct.RULES:
            raise Http404
        form = PeriodForm(request.GET or None)
        since = until = None
        if form.is_valid():
            since = _day_start(form.cleaned_data.get("since"))
            u = form.cleaned_data.get("until")
            until = _day_start(u + dt.timedelta(days=1)) if u else None

        tasks = conduct.evidence(
            rule,
            department_id=parse_id(request.GET.get("department")),
            person_id=parse_id(request.GET.get("person")),
            since=since,
            until=until,
        )[:200]
        context = self._context(
            request, conduct.RULES[rule].label, tasks=tasks, rule=conduct.RULES[rule],
            trace_url=reverse("admin:supervision_tracedappeal_changelist"),
        )
        return TemplateResponse(request, "admin/supervision/conduct_evidence.html", context)
