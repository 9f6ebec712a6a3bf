"""Leadership authorization (DESIGN §1, §3, §4): delegations, approval requests,
instructions (批示), rule adaptations (变通) and consultations (会商)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.appeals.models import Appeal, Category
from apps.core.history import audited_history
from apps.core.models import AuditedQuerySet, TimeStampedModel
from apps.core.text_limits import LONG_TEXT, SHORT_TEXT
from apps.organization.models import Area, Department
from apps.tasks.models import LimitUnit, Task


class Kind(models.TextChoices):
    """What a leader may be asked to decide."""

    EXTENSION = "extension", _("extension")
    RETURN = "return", _("return and reassignment")
    CLOSURE = "closure", _("closure as not resolvable")
    EXCLUSION = "exclusion", _("exclusion from appraisal")
    ESCALATION = "escalation", _("escalation to the city government")


KINDS = ["extension", "return", "closure", "exclusion", "escalation"]
USER = settings.AUTH_USER_MODEL


class Delegation(TimeStampedModel):
    """授权: `grantee` may decide requests of `kind` for `scope` and its sub-units, within
    `max_extension_days` (extensions), between `valid_from` and `valid_until`.

    City leaders hold every kind for the whole city by their role; everyone else holds
    what was delegated to them, and can delegate only within what they hold.
    """

    grantor = models.ForeignKey(USER, verbose_name=_("granted by"), on_delete=models.PROTECT, related_name="+")
    grantee = models.ForeignKey(
        USER, verbose_name=_("granted to"), on_delete=models.PROTECT, related_name="delegations"
    )
    kind = models.CharField(_("kind of request"), max_length=16, choices=Kind.choices)
    scope = models.ForeignKey(
        Department, verbose_name=_("for departments under"), on_delete=models.PROTECT, related_name="delegations"
    )
    max_extension_days = models.PositiveSmallIntegerField(
        _("longest extension (working days)"),
        null=True,
        blank=True,
        help_text=_("Extensions only: the longest extension this leader may approve."),
    )
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"))
    reason = models.TextField(_("reason"), max_length=SHORT_TEXT)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, verbose_name=_("revoked by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        ordering = ["-valid_from"]
        indexes = [
            # Routing a request: live delegations of a kind (then scope prefix in Python).
            models.Index(
                fields=["kind", "valid_until"], name="deleg_kind_valid_idx", condition=models.Q(revoked_at__isnull=True)
            ),
            # "What do I hold?": a leader's live delegations.
            models.Index(fields=["grantee", "kind"], name="deleg_grantee_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=KINDS), name="authorization_delegation_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")), name="authorization_delegation_period_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(grantor=models.F("grantee")), name="authorization_delegation_not_to_self"
            ),
        ]

    def __str__(self):
        return f"{self.grantee} · {self.get_kind_display()} · {self.scope}"

    def is_live(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.valid_from <= at < self.valid_until


class ApprovalRequest(TimeStampedModel):
    """A request for a leader's decision, raised from a work order or an appeal."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, related_name="approval_requests"
    )
    task = models.ForeignKey(
        Task,
        verbose_name=_("work order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_requests",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department concerned"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Decides which leaders' delegations cover it."),
    )
    requested_by = models.ForeignKey(USER, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    reason = models.TextField(_("reason"), max_length=SHORT_TEXT)
    extension_days = models.PositiveSmallIntegerField(_("extension (working days)"), null=True, blank=True)
    target_department = models.ForeignKey(
        Department, verbose_name=_("reassign to"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        USER, verbose_name=_("decided by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("decision comment"), max_length=SHORT_TEXT, blank=True)
    # Stale-request sweep: remind the leaders, then hand the request up a level.
    route_level = models.PositiveSmallIntegerField(_("times handed up"), default=0)
    reminded_at = models.DateTimeField(_("leaders reminded at"), null=True, blank=True)
    next_escalation_at = models.DateTimeField(_("next reminder or hand-up at"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["requested_at", "id"]
        permissions = [("decide_approvalrequest", _("Can decide an approval request routed to them"))]
        indexes = [
            # The stale-request sweep: pending requests whose reminder or hand-up is due.
            models.Index(
                fields=["next_escalation_at"], name="approval_sweep_idx", condition=models.Q(status="pending")
            ),
            # Leader figures: decisions by a leader over time.
            models.Index(fields=["decided_by", "decided_at"], name="approval_decider_idx"),
            # An appeal's requests, for its page and history.
            models.Index(fields=["appeal", "requested_at"], name="approval_appeal_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=KINDS), name="authorization_request_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "approved", "rejected", "withdrawn"]),
                name="authorization_request_status_valid",
            ),
            models.UniqueConstraint(
                fields=["task", "kind"],
                condition=models.Q(status="pending"),
                name="authorization_one_pending_request_per_task_and_kind",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.appeal.tracking_number}"


class ApprovalRequestUserObjectPermission(UserObjectPermissionBase):
    """guardian, direct FK: the leaders a request is routed to (decide_approvalrequest)."""

    content_object = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("approval routing")


class ApprovalRequestGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("approval routing (group)")


class Instruction(TimeStampedModel):
    """批示: a leader's instruction on an appeal, which the receiving departments must
    acknowledge and act on."""

    appeal = models.ForeignKey(Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, related_name="instructions")
    issued_by = models.ForeignKey(USER, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    text = models.TextField(_("instruction"), max_length=LONG_TEXT)
    respond_by = models.DateTimeField(_("act on it by"))

    history = audited_history()

    class Meta:
        verbose_name = _("instruction (批示)")
        verbose_name_plural = _("instructions (批示)")
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.appeal.tracking_number} · {self.text[:30]}"


class InstructionReceipt(TimeStampedModel):
    """One receiving department's acknowledgement of an instruction, and what it did."""

    instruction = models.ForeignKey(
        Instruction, verbose_name=_("instruction"), on_delete=models.PROTECT, related_name="receipts"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="instruction_receipts"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        USER, verbose_name=_("acknowledged by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action_note = models.TextField(_("action taken"), max_length=SHORT_TEXT, blank=True)
    acted_at = models.DateTimeField(_("acted at"), null=True, blank=True)

    history = audited_history()

    class Meta:
        verbose_name = _("instruction receipt")
        verbose_name_plural = _("instruction receipts")
        ordering = ["instruction", "department"]
        constraints = [
            models.UniqueConstraint(fields=["instruction", "department"], name="authorization_one_receipt_per_dept"),
        ]
        indexes = [
            # A department's instructions still to acknowledge or act on.
            models.Index(fields=["department", "acted_at"], name="receipt_dept_open_idx"),
        ]

    def __str__(self):
        return f"{self.instruction} · {self.department}"


class RuleAdaptation(TimeStampedModel):
    """变通: a time-limited change of the rules for new appeals of a category (and its
    subcategories) in an area (and its sub-areas): raise the priority, or shorten the
    resolve limit. Takes effect from `valid_from` and expires by itself at `valid_until`."""

    class Kind(models.TextChoices):
        RAISE_PRIORITY = "raise_priority", _("raise the priority")
        SHORTEN_LIMIT = "shorten_limit", _("shorten the resolve limit")

    kind = models.CharField(_("adaptation"), max_length=16, choices=Kind.choices)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the whole city."),
    )
    priority = models.CharField(_("at least priority"), max_length=2, choices=Appeal.Priority.choices, blank=True)
    resolve_amount = models.PositiveIntegerField(_("resolve within"), null=True, blank=True)
    resolve_unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices, blank=True)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"))
    issued_by = models.ForeignKey(USER, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), max_length=SHORT_TEXT)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("rule adaptation (变通)")
        verbose_name_plural = _("rule adaptations (变通)")
        ordering = ["-valid_from"]
        indexes = [
            # Intake and dispatch: adaptations live now.
            models.Index(
                fields=["valid_until", "valid_from"],
                name="adaptation_live_idx",
                condition=models.Q(revoked_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["raise_priority", "shorten_limit"]),
                name="authorization_adaptation_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")), name="authorization_adaptation_period_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.category} · {self.area or _('whole city')}"


class Consultation(TimeStampedModel):
    """会商: a leader asks departments for their opinions by a deadline, then decides."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("consultation status", "open")
        CONCLUDED = "concluded", _("concluded")

    opened_by = models.ForeignKey(USER, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    appeal = models.ForeignKey(
        Appeal, verbose_name=_("appeal"), on_delete=models.PROTECT, null=True, blank=True, related_name="consultations"
    )
    topic = models.CharField(_("topic"), max_length=200)
    question = models.TextField(_("question"), max_length=LONG_TEXT)
    deadline = models.DateTimeField(_("opinions due by"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    decision = models.TextField(_("decision"), max_length=SHORT_TEXT, blank=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)

    history = audited_history()

    class Meta:
        verbose_name = _("consultation (会商)")
        verbose_name_plural = _("consultations (会商)")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "concluded"]), name="authorization_consultation_status_valid"
            ),
        ]

    def __str__(self):
        return self.topic

    @property
    def duration(self):
        return (self.concluded_at - self.opened_at) if self.concluded_at else None


class ConsultationInvite(TimeStampedModel):
    consultation = models.ForeignKey(
        Consultation,
        verbose_name=pgettext_lazy("meeting", "consultation"),
        on_delete=models.PROTECT,
        related_name="invites",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="consultation_invites"
    )
    opinion = models.TextField(_("opinion"), max_length=SHORT_TEXT, blank=True)
    opinion_by = models.ForeignKey(
        USER, verbose_name=_("opinion by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opinion_at = models.DateTimeField(_("opinion given at"), null=True, blank=True)

    history = audited_history()

    class Meta:
        verbose_name = _("consultation invitation")
        verbose_name_plural = _("consultation invitations")
        ordering = ["consultation", "department"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "department"], name="authorization_one_invite_per_dept"),
        ]

    def __str__(self):
        return f"{self.consultation} · {self.department}"

    @property
    def is_late(self) -> bool:
        deadline = self.consultation.deadline
        if self.opinion_at is not None:
            return self.opinion_at > deadline
        return timezone.now() > deadline
