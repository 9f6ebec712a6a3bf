from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.appeals.models import Appeal, Category
from apps.core.exceptions import InvalidTransition
from apps.core.history import audited_history
from apps.core.models import AuditedQuerySet, TimeStampedModel
from apps.core.text_limits import LONG_TEXT, SHORT_TEXT
from apps.organization.models import Department


class LimitUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    WORKING_DAYS = "working_days", pgettext_lazy("time-limit unit", "working days")
    CALENDAR_DAYS = "calendar_days", pgettext_lazy("time-limit unit", "calendar days")


LIMIT_UNITS = ["minutes", "hours", "working_days", "calendar_days"]


class SlaRule(TimeStampedModel):
    """Time limits for a priority, optionally narrowed to an appeal type and/or a category
    (and its subcategories). The most specific active rule wins (DESIGN §5)."""

    priority = models.CharField(_("priority"), max_length=2, choices=Appeal.Priority.choices)
    appeal_type = models.CharField(
        _("appeal type"), max_length=16, choices=Appeal.Type.choices, blank=True, help_text=_("Empty: every type.")
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty: every category. A category covers its subcategories."),
    )
    sign_amount = models.PositiveIntegerField(_("sign for within"))
    sign_unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices)
    contact_amount = models.PositiveIntegerField(_("contact the citizen within"))
    contact_unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices)
    resolve_amount = models.PositiveIntegerField(_("resolve within"))
    resolve_unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("time-limit rule")
        verbose_name_plural = _("time-limit rules")
        ordering = ["priority", "appeal_type", "category__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority", "appeal_type", "category"],
                condition=models.Q(is_active=True, category__isnull=False),
                name="tasks_slarule_one_active_per_key",
            ),
            models.UniqueConstraint(
                fields=["priority", "appeal_type"],
                condition=models.Q(is_active=True, category__isnull=True),
                name="tasks_slarule_one_active_any_category",
            ),
            models.CheckConstraint(
                condition=models.Q(sign_unit__in=LIMIT_UNITS)
                & models.Q(contact_unit__in=LIMIT_UNITS)
                & models.Q(resolve_unit__in=LIMIT_UNITS),
                name="tasks_slarule_units_valid",
            ),
        ]

    def __str__(self):
        parts = [
            self.priority,
            self.get_appeal_type_display() if self.appeal_type else "",
            str(self.category) if self.category_id else "",
        ]
        return " · ".join(p for p in parts if p)


class Task(TimeStampedModel):
    """One department's work order (工单) for an appeal: lead (主办) or co-handling (协办)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("lead")
        CO = "co", _("co-handling")

    class Status(models.TextChoices):
        PENDING_SIGN = "pending_sign", _("waiting to be signed for")
        IN_PROGRESS = "in_progress", _("in progress")
        RETURN_REQUESTED = "return_requested", _("return requested")
        REPLIED = "replied", _("replied, under review")
        DONE = "done", _("done")
        RETURNED = "returned", _("returned")

    class ContactMethod(models.TextChoices):
        PHONE = "phone", _("phone call")
        SMS = "sms", _("text message")
        VISIT = "visit", _("on-site visit")
        OTHER = "other", _("other")

    class Result(models.TextChoices):
        RESOLVED = "resolved", _("resolved")
        PARTLY = "partly", _("partly resolved")
        EXPLAINED = "explained", _("explained (policy does not allow)")
        NOT_RESOLVABLE = "not_resolvable", _("cannot be resolved")

    class Light(models.TextChoices):
        GREEN = "green", _("on time")
        YELLOW = "yellow", _("due soon")
        RED = "red", _("overdue")

    ALLOWED = {
        # RETURNED from pending/in progress: a reassignment approved by a leader;
        # DONE from in progress: closure as not resolvable approved by a leader.
        Status.PENDING_SIGN: {Status.IN_PROGRESS, Status.RETURN_REQUESTED, Status.RETURNED},
        Status.IN_PROGRESS: {Status.REPLIED, Status.RETURN_REQUESTED, Status.RETURNED, Status.DONE},
        Status.RETURN_REQUESTED: {Status.RETURNED, Status.PENDING_SIGN, Status.IN_PROGRESS},
        Status.REPLIED: {Status.DONE, Status.IN_PROGRESS},
        Status.DONE: {Status.IN_PROGRESS},  # reopened after an unsatisfied visit (issue 6)
        Status.RETURNED: set(),
    }
    OPEN_STATUSES = ["pending_sign", "in_progress", "return_requested", "replied"]

    appeal = models.ForeignKey(Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, related_name="tasks")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="tasks"
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.LEAD)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING_SIGN)
    dispatched_at = models.DateTimeField(_("dispatched at"))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("dispatched by"), on_delete=models.PROTECT, related_name="+"
    )
    dispatch_note = models.TextField(_("dispatch note"), max_length=SHORT_TEXT, blank=True)
    # Due times, computed at dispatch from the time-limit rules and the working calendar.
    sign_due_at = models.DateTimeField(_("sign for by"))
    contact_due_at = models.DateTimeField(_("contact the citizen by"))
    resolve_due_at = models.DateTimeField(_("resolve by"))
    # The earliest deadline still running (missed ones included): lists sort on it.
    next_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    # When the SLA sweep next has something to do here (mark a miss, or issue a reminder
    # the working day after one); NULL when nothing is pending. The sweep reads only rows
    # whose time has come, so its cost grows with the overdue count, not the table.
    sweep_due_at = models.DateTimeField(_("next sweep at"), null=True, blank=True, editable=False)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    contacted_at = models.DateTimeField(_("citizen contacted at"), null=True, blank=True)
    contact_method = models.CharField(_("contact method"), max_length=8, choices=ContactMethod.choices, blank=True)
    contact_note = models.TextField(_("contact note"), max_length=SHORT_TEXT, blank=True)
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("contacted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replied by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, blank=True)
    reply_text = models.TextField(_("reply"), max_length=LONG_TEXT, blank=True)
    policy_basis = models.TextField(_("policy or legal basis"), max_length=SHORT_TEXT, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    review_comment = models.TextField(_("review comment"), max_length=SHORT_TEXT, blank=True)
    sent_back_count = models.PositiveSmallIntegerField(_("times sent back by review"), default=0)
    return_reason = models.TextField(_("return reason"), max_length=SHORT_TEXT, blank=True)
    return_requested_at = models.DateTimeField(_("return requested at"), null=True, blank=True)
    return_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("return requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_decided_at = models.DateTimeField(_("return decided at"), null=True, blank=True)
    return_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("return decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_decision_comment = models.TextField(_("return decision comment"), max_length=SHORT_TEXT, blank=True)
    replaced_by = models.ForeignKey(
        "self",
        verbose_name=_("reassigned to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
    )
    # Set once by the SLA sweep when a limit is missed (the evidence for 不作为 flags).
    sign_overdue_at = models.DateTimeField(_("sign-for limit missed at"), null=True, blank=True)
    contact_overdue_at = models.DateTimeField(_("contact limit missed at"), null=True, blank=True)
    resolve_overdue_at = models.DateTimeField(_("resolve limit missed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    extended_days = models.PositiveSmallIntegerField(_("working days of approved extensions"), default=0, db_default=0)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened after a return visit"), default=0, db_default=0)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["next_due_at", "id"]
        indexes = [
            # Department workbench: my department's open tasks, most urgent first.
            models.Index(
                fields=["department", "next_due_at", "id"],
                name="task_dept_open_due_idx",
                condition=models.Q(status__in=["pending_sign", "in_progress", "return_requested", "replied"]),
            ),
            # Dispatcher lists (return requests, replies to review) and status filters.
            models.Index(fields=["status", "next_due_at", "id"], name="task_status_due_idx"),
            # Lists in "all states" (the inspector's, a department's), in the lists' order.
            models.Index(fields=["next_due_at", "id"], name="task_due_idx"),
            models.Index(fields=["department", "next_due_at", "id"], name="task_dept_due_idx"),
            # The SLA sweep: rows whose sweep time has come (partial: only rows with work pending).
            models.Index(
                fields=["sweep_due_at"], name="task_sweep_due_idx", condition=models.Q(sweep_due_at__isnull=False)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["pending_sign", "in_progress", "return_requested", "replied", "done", "returned"]
                ),
                name="tasks_task_status_valid",
            ),
            models.CheckConstraint(condition=models.Q(role__in=["lead", "co"]), name="tasks_task_role_valid"),
            models.UniqueConstraint(
                fields=["appeal"],
                condition=models.Q(role="lead") & ~models.Q(status="returned"),
                name="tasks_task_one_live_lead_per_appeal",
            ),
        ]

    def __str__(self):
        return f"{self.appeal.tracking_number} · {self.department}"

    def move_to(self, status: str) -> None:
        if status not in self.ALLOWED.get(self.status, set()):
            raise InvalidTransition(
                _("This work order is “%(current)s”; it cannot become “%(new)s”.")
                % {"current": self.get_status_display(), "new": self.Status(status).label}
            )
        self.status = status

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Reminder(models.Model):
    """催办: issued by the SLA sweep the day after a limit is missed. One per missed deadline
    (a work order reopened or extended has new deadlines, each reminded if missed)."""

    class Kind(models.TextChoices):
        SIGN = "sign", _("sign-for limit")
        CONTACT = "contact", _("contact limit")
        RESOLVE = "resolve", _("resolve limit")

    task = models.ForeignKey(Task, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="reminders")
    kind = models.CharField(_("missed limit"), max_length=8, choices=Kind.choices)
    due_at = models.DateTimeField(_("limit was"))
    issued_at = models.DateTimeField(_("issued at"))
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="reminders"
    )

    history = audited_history()

    class Meta:
        verbose_name = _("reminder (催办)")
        verbose_name_plural = _("reminders (催办)")
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["task", "kind", "due_at"], name="tasks_reminder_one_per_missed_deadline"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["sign", "contact", "resolve"]), name="tasks_reminder_kind_valid"
            ),
        ]
        indexes = [
            # The reminder list, newest first (inspectors, dispatchers).
            models.Index(fields=["-issued_at", "-id"], name="reminder_recent_idx"),
            # A department's reminders, newest first (department staff and leaders).
            models.Index(fields=["department", "-issued_at"], name="reminder_dept_recent_idx"),
        ]

    def __str__(self):
        return f"{self.task} · {self.get_kind_display()}"


class TaskUserObjectPermission(UserObjectPermissionBase):
    """guardian, direct foreign key: rare grants to one person (e.g. a temporary inspector)."""

    content_object = models.ForeignKey(Task, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("work order grant (user)")


class TaskGroupObjectPermission(GroupObjectPermissionBase):
    """guardian, direct foreign key: a department's group may see another department's task
    (the lead task, for co-handling departments). Department scope itself is the FK."""

    content_object = models.ForeignKey(Task, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("work order grant (department)")
