"""Return visits (回访): the call back to the citizen after a reply is accepted (or a sampled
direct answer), its attempts, and the formality flags computed over them (DESIGN §1, §4, §6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.appeals.models import Appeal
from apps.core.history import audited_history
from apps.core.models import AuditedQuerySet, TimeStampedModel
from apps.core.text_limits import SHORT_TEXT
from apps.organization.models import Department
from apps.tasks.models import Task


class Satisfaction(models.TextChoices):
    """The five national grades, best first."""

    VERY_SATISFIED = "very_satisfied", _("very satisfied")
    SATISFIED = "satisfied", _("satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("basically satisfied")
    UNSATISFIED = "unsatisfied", _("unsatisfied")
    VERY_UNSATISFIED = "very_unsatisfied", _("very unsatisfied")


SATISFIED_GRADES = {"very_satisfied", "satisfied", "basically_satisfied"}
GRADE_ORDER = [c.value for c in Satisfaction]


class Visit(TimeStampedModel):
    """One return visit of one appeal (one per round: a reopened appeal is visited again)."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("after an accepted reply")
        DIRECT = "direct", _("sampled direct answer")
        RECHECK = "recheck", _("re-visit by a second agent")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("to visit")
        DONE = "done", _("visited")
        UNREACHABLE = "unreachable", _("unreachable")

    class Fault(models.TextChoices):
        NONE = "", _("not applicable")
        DEPARTMENT = "department", _("within the department's control")
        OUTSIDE = "outside", _("outside the department's control")

    appeal = models.ForeignKey(Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, related_name="visits")
    task = models.ForeignKey(
        Task, verbose_name=_("work order"), on_delete=models.PROTECT, null=True, blank=True, related_name="visits"
    )
    # The handling department (the lead work order's): scope and formality checks read it.
    department = models.ForeignKey(
        Department,
        verbose_name=_("handling department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visits",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.REPLY)
    round = models.PositiveSmallIntegerField(_("round"), default=1, help_text=_("1 + times the appeal was reopened"))
    recheck_of = models.ForeignKey(
        "self",
        verbose_name=_("re-visit of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rechecks",
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_at = models.DateTimeField(_("scheduled at"))
    due_at = models.DateTimeField(_("visit by"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    call_started_at = models.DateTimeField(_("call started at"), null=True, blank=True)
    attempt_count = models.PositiveSmallIntegerField(_("attempts"), default=0)
    resolved = models.BooleanField(_("resolved"), null=True, blank=True)
    satisfaction = models.CharField(_("satisfaction"), max_length=20, choices=Satisfaction.choices, blank=True)
    citizen_words = models.TextField(_("the citizen's words"), max_length=SHORT_TEXT, blank=True)
    fault = models.CharField(
        _("reason for dissatisfaction"), max_length=12, choices=Fault.choices, blank=True, default=""
    )
    fault_note = models.TextField(_("note on the reason"), max_length=SHORT_TEXT, blank=True)
    reopened = models.BooleanField(_("reopened the work order"), default=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")
        ordering = ["due_at", "id"]
        indexes = [
            # The agents' queue: scheduled visits, due first (partial: the queue stays small).
            models.Index(fields=["due_at", "id"], name="visit_queue_due_idx", condition=models.Q(status="scheduled")),
            models.Index(fields=["appeal", "round"], name="visit_appeal_round_idx"),
            # Formality checks read completed visits by time.
            models.Index(fields=["completed_at"], name="visit_completed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["scheduled", "done", "unreachable"]), name="followups_visit_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["reply", "direct", "recheck"]), name="followups_visit_kind_valid"
            ),
            models.UniqueConstraint(
                fields=["appeal", "round"],
                condition=~models.Q(kind="recheck"),
                name="followups_visit_one_per_round",
            ),
            models.UniqueConstraint(
                fields=["recheck_of"],
                condition=models.Q(kind="recheck"),
                name="followups_visit_one_recheck_each",
            ),
        ]

    def __str__(self):
        return f"{self.appeal.tracking_number} · {self.get_kind_display()} #{self.round}"

    @property
    def is_unsatisfied(self) -> bool:
        return self.resolved is False or (bool(self.satisfaction) and self.satisfaction not in SATISFIED_GRADES)


class VisitAttempt(models.Model):
    """One call: who, when the call started and was recorded, reached or not."""

    visit = models.ForeignKey(Visit, verbose_name=_("return visit"), on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField(_("attempt"))
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT)
    started_at = models.DateTimeField(_("call started at"))
    recorded_at = models.DateTimeField(_("recorded at"))
    reached = models.BooleanField(_("citizen reached"))
    note = models.TextField(_("note"), max_length=SHORT_TEXT, blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("visit attempt")
        verbose_name_plural = _("visit attempts")
        ordering = ["visit", "number"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "number"], name="followups_attempt_unique_number"),
        ]

    def __str__(self):
        return f"{self.visit_id} #{self.number}"


class VisitFlag(models.Model):
    """A formality check that fired on a visit, with its evidence. Written by the sweep,
    once per visit and kind (reruns add nothing)."""

    class Kind(models.TextChoices):
        TOO_FAST = "too_fast", _("recorded implausibly fast")
        TIED_AGENT = "tied_agent", _("agent tied to the handling department")
        UNIFORM_RATINGS = "uniform", _("agent's ratings implausibly uniform")
        REPEATED_WORDS = "repeated", _("identical citizen's words repeated")
        RECHECK_DIFFERS = "recheck", _("second agent's re-visit disagrees")

    visit = models.ForeignKey(Visit, verbose_name=_("return visit"), on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(_("check"), max_length=12, choices=Kind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    evidence = models.JSONField(_("evidence"), default=dict)
    detected_at = models.DateTimeField(_("detected at"))

    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("formality flag")
        verbose_name_plural = _("formality flags")
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "kind"], name="followups_flag_one_per_visit_and_kind"),
        ]

    def __str__(self):
        return f"{self.visit} · {self.get_kind_display()}"
