"""Supervision (督办) and accountability (问责) records.

A `SupervisionCase` is one step of the ladder for one missed limit of one work order:
reminder (催办) -> supervision notice (督办) -> listing for public criticism (通报). The
department answers each step with a rectification note by a deadline; an unanswered step
is raised to the next one by the sweep. An `AccountabilityRecord` is an inspector's
finding against a department or a person, with its evidence; closed records are never
edited, only superseded by a new, linked record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.appeals.models import Appeal
from apps.core.history import audited_history
from apps.core.models import AuditedQuerySet, TimeStampedModel
from apps.core.text_limits import LONG_TEXT
from apps.organization.models import Department
from apps.tasks.models import Task

USER = settings.AUTH_USER_MODEL


class Level(models.TextChoices):
    REMINDER = "reminder", _("reminder (催办)")
    NOTICE = "notice", _("supervision notice (督办)")
    CRITICISM = "criticism", _("public criticism (通报)")


LEVELS = [Level.REMINDER, Level.NOTICE, Level.CRITICISM]


class MissedLimit(models.TextChoices):
    SIGN = "sign", _("sign-for limit")
    CONTACT = "contact", _("contact limit")
    RESOLVE = "resolve", _("resolve limit")


class SupervisionCase(TimeStampedModel):
    """One step of the supervision ladder for one missed limit of one work order."""

    task = models.ForeignKey(
        Task, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="supervision_cases"
    )
    appeal = models.ForeignKey(Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="supervision_cases"
    )
    limit = models.CharField(_("missed limit"), max_length=8, choices=MissedLimit.choices)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    missed_due_at = models.DateTimeField(_("limit was"))
    raised_at = models.DateTimeField(_("raised at"))
    answer_due_at = models.DateTimeField(_("answer due by"))
    previous = models.OneToOneField(
        "self",
        verbose_name=_("raised from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_step",
    )
    rectification_note = models.TextField(_("rectification note"), max_length=LONG_TEXT, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        USER, verbose_name=_("answered by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("supervision case")
        verbose_name_plural = _("supervision cases (催办/督办/通报)")
        ordering = ["-raised_at", "-id"]
        constraints = [
            # The sweep's idempotence: one step of each level per work order and limit.
            # One step of each level per missed deadline (a reopened or extended work order
            # that misses its new deadline starts a new ladder).
            models.UniqueConstraint(
                fields=["task", "limit", "missed_due_at", "level"], name="supervision_case_one_per_step"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=["reminder", "notice", "criticism"]), name="supervision_case_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(limit__in=["sign", "contact", "resolve"]), name="supervision_case_limit_valid"
            ),
        ]
        indexes = [
            # Department workbench: my department's unanswered steps, earliest deadline first.
            models.Index(
                fields=["department", "answer_due_at"],
                name="supervision_case_open_idx",
                condition=models.Q(answered_at__isnull=True),
            ),
            # The sweep: unanswered steps whose answer deadline has passed.
            models.Index(
                fields=["answer_due_at"],
                name="supervision_case_due_idx",
                condition=models.Q(answered_at__isnull=True) & ~models.Q(level="criticism"),
            ),
        ]

    def __str__(self):
        return f"{self.get_level_display()} · {self.department} · {self.get_limit_display()}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class AccountabilityRecord(TimeStampedModel):
    """问责: an inspector's finding against a department or a person, with the decision and
    the sanction. Editable while open; after closing only a new record may amend it."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    class Sanction(models.TextChoices):
        NONE = "none", _("no sanction")
        EDUCATION = "education", _("criticism and education (批评教育)")
        SELF_CRITICISM = "self_criticism", _("written self-criticism (书面检查)")
        PUBLIC_CRITICISM = "public_criticism", _("public criticism (通报批评)")
        ADMONITION = "admonition", _("admonishing talk (诫勉谈话)")
        REFERRAL = "referral", _("referred for disciplinary action (移送处分)")

    subject_department = models.ForeignKey(
        Department, verbose_name=_("department concerned"), on_delete=models.PROTECT, related_name="+"
    )
    subject_person = models.ForeignKey(
        USER,
        verbose_name=_("person concerned"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the finding is against the department."),
    )
    finding = models.TextField(_("finding"), max_length=LONG_TEXT)
    decision = models.TextField(_("decision"), max_length=LONG_TEXT, blank=True)
    sanction = models.CharField(_("sanction"), max_length=20, choices=Sanction.choices, default=Sanction.NONE)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    recorded_by = models.ForeignKey(USER, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, verbose_name=_("closed by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("amends"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text=_("A closed record this one amends."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("accountability record (问责)")
        verbose_name_plural = _("accountability records (问责)")
        ordering = ["-recorded_at", "-id"]
        permissions = [
            ("trace_history", _("Can trace history and responsibility across appeals")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "closed"]), name="supervision_acc_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    sanction__in=["none", "education", "self_criticism", "public_criticism", "admonition", "referral"]
                ),
                name="supervision_acc_sanction_valid",
            ),
        ]
        indexes = [
            # Leaders: records about my department subtree, newest first (joined on department path).
            models.Index(fields=["subject_department", "-recorded_at"], name="supervision_acc_dept_idx"),
        ]

    def __str__(self):
        subject = self.subject_person or self.subject_department
        return f"#{self.pk} {subject} · {self.get_sanction_display()}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class AccountabilityEvidence(models.Model):
    """A link from a finding to what proves it: an appeal, a history row, an action-log entry."""

    record = models.ForeignKey(
        AccountabilityRecord, verbose_name=_("accountability record"), on_delete=models.PROTECT, related_name="evidence"
    )
    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A timeline entry's reference, e.g. "task:1234" (history row 1234 of the work-order
    # source) or "audit:987" (action-log entry #987): see apps.casefile.sources.
    entry_ref = models.CharField(_("history entry"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(appeal__isnull=False) | ~models.Q(entry_ref=""), name="supervision_evidence_points"
            ),
        ]

    def __str__(self):
        return self.entry_ref or str(self.appeal)


class TracedAppeal(Appeal):
    """The inspectors' entry to an appeal's record: its admin page is the merged timeline
    and the responsibility timeline, read-only (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("appeal record (trace)")
        verbose_name_plural = _("appeal records (trace)")
