from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.encrypted import BlindIndexField, EncryptedCharField
from apps.core.exceptions import InvalidTransition
from apps.core.history import audited_history
from apps.core.models import AuditedQuerySet, TimeStampedModel
from apps.core.personal_data import validate_id_number
from apps.core.text_limits import LONG_TEXT, SHORT_TEXT
from apps.organization.models import Area, Department, code_validator

phone_validator = RegexValidator(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$",
    _("Enter a mobile number (11 digits) or a landline with area code, e.g. 0833-2123456."),
)


class Category(TimeStampedModel):
    """Subject taxonomy (事项分类), e.g. 城市管理 › 市容环境 › 占道经营. Appeals use leaves."""

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=500, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    full_name = models.CharField(_("category path"), max_length=400, editable=False)
    is_leaf = models.BooleanField(_("leaf"), default=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history(excluded_fields=["path", "depth", "full_name", "is_leaf"])

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]

    def __str__(self):
        return self.full_name or self.name


class DispatchRule(TimeStampedModel):
    """派单目录: which department leads (主办) on a category in an area, and who co-handles (协办).

    Without an area the rule is city-wide. The most specific rule wins: the appeal's own
    area, then its ancestors, then city-wide; with no rule the district government of the
    appeal's area takes it (兜底).
    """

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="dispatch_rules"
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispatch_rules",
        help_text=_("Empty: the whole city."),
    )
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_rules",
    )
    route_to_local_street = models.BooleanField(
        _("lead: the street office of the appeal's area"),
        default=False,
        help_text=_("For matters handled where they happen (属地管理) instead of by one department."),
    )
    co_departments = models.ManyToManyField(
        Department, verbose_name=_("co-handling departments"), blank=True, related_name="co_rules"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history(m2m_fields=[co_departments])

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch rules")
        ordering = ["category__path", "area__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "area"],
                condition=models.Q(is_active=True) & models.Q(area__isnull=False),
                name="appeals_rule_one_active_per_category_area",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=models.Q(is_active=True) & models.Q(area__isnull=True),
                name="appeals_rule_one_active_citywide_per_category",
            ),
            models.CheckConstraint(
                condition=models.Q(lead_department__isnull=False) | models.Q(route_to_local_street=True),
                name="appeals_rule_has_a_lead",
            ),
        ]

    def __str__(self):
        where = self.area.name if self.area_id else _("whole city")
        return f"{self.category} @ {where}"


class TrackingCounter(models.Model):
    """Per-day counter behind readable tracking numbers (20261126-000123)."""

    day = models.DateField(primary_key=True)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("tracking counter")

    def __str__(self):
        return f"{self.day}: {self.value}"


class Appeal(TimeStampedModel):
    """One citizen contact as received (诉求)."""

    # The citizen's personal data: never searched, filtered or sorted on in the admin
    # (apps.core.personal_fields); citizen_id_number is listed ahead of its field.
    PERSONAL_FIELDS = ("citizen_name", "citizen_phone", "citizen_id_number", "address")
    # What no list shows: long texts (the bigram index text doubles the content) and
    # ciphertext, which would be decrypted on every row. Lists defer them (list_defer).
    NOT_IN_LISTS = ("content", "search_text", "answer", "reject_reason", "exclusion_reason", "citizen_id_number")

    class Channel(models.TextChoices):
        PHONE = "phone", _("phone")
        WECHAT = "wechat", _("WeChat")
        WEIBO = "weibo", _("Weibo")
        APP = "app", _("city app")
        WEB = "web", _("website")
        LETTER = "letter", _("letter")
        EMAIL = "email", _("e-mail")
        COUNTER = "counter", _("counter")

    class Type(models.TextChoices):
        CONSULTATION = "consultation", _("consultation")
        HELP = "help", _("help request")
        COMPLAINT = "complaint", _("complaint")
        REPORT = "report", _("report")
        SUGGESTION = "suggestion", _("suggestion")
        PRAISE = "praise", _("praise")
        OTHER = "other", _("other")

    class Priority(models.TextChoices):
        P0 = "P0", _("P0 major emergency")
        P1 = "P1", _("P1 urgent")
        P2 = "P2", _("P2 general")
        P3 = "P3", _("P3 complex")

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        ANSWERED = "answered", _("answered directly")
        REJECTED = "rejected", _("not accepted")
        MERGED = "merged", _("merged")
        DISPATCHED = "dispatched", _("dispatched")
        REVIEWED = "reviewed", _("replies accepted")
        CLOSED = "closed", _("closed")

    class RejectRoute(models.TextChoices):
        LITIGATION = "litigation", _("litigation (courts)")
        ARBITRATION = "arbitration", _("arbitration")
        PETITION = "petition", _("letters and visits (信访)")
        DISCIPLINE = "discipline", _("discipline inspection (纪检监察)")
        REVIEW = "review", _("administrative review")
        EMERGENCY_110 = "110", _("police 110")
        EMERGENCY_119 = "119", _("fire 119")
        EMERGENCY_120 = "120", _("ambulance 120")
        OTHER = "other", _("other lawful route")

    ALLOWED = {
        Status.RECEIVED: {Status.ANSWERED, Status.REJECTED, Status.MERGED, Status.DISPATCHED},
        Status.DISPATCHED: {Status.REVIEWED},
        Status.REVIEWED: {Status.CLOSED, Status.DISPATCHED},
        Status.ANSWERED: {Status.CLOSED},
        Status.REJECTED: set(),
        Status.MERGED: set(),
        Status.CLOSED: set(),
    }

    tracking_number = models.CharField(_("tracking number"), max_length=20, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.PHONE)
    appeal_type = models.CharField(_("appeal type"), max_length=16, choices=Type.choices, default=Type.HELP)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="appeals")
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="appeals")
    address = models.CharField(_("address"), max_length=200, blank=True)
    content = models.TextField(_("content"), max_length=LONG_TEXT)
    citizen_name = models.CharField(_("citizen name"), max_length=50, blank=True)
    # Encrypted at rest (apps.core.encrypted); the blind indexes serve exact lookups
    # (duplicates by phone, a permitted search by a full number) and are kept in step on save.
    citizen_phone = EncryptedCharField(
        _("citizen phone"), max_length=20, blank=True, validators=[phone_validator], purpose="appeal.citizen_phone"
    )
    citizen_phone_index = BlindIndexField(_("citizen phone (blind index)"), source="citizen_phone", kind="phone")
    citizen_id_number = EncryptedCharField(
        _("citizen ID number"),
        max_length=18,
        blank=True,
        validators=[validate_id_number],
        purpose="appeal.citizen_id_number",
        help_text=_(
            "Only for appeals that need it (e.g. social insurance, household registration); leave empty otherwise."
        ),
    )
    citizen_id_number_index = BlindIndexField(
        _("citizen ID number (blind index)"), source="citizen_id_number", kind="id_number"
    )
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    is_confidential = models.BooleanField(
        _("confidential"),
        default=False,
        help_text=_("The citizen's identity is never shown to the handling departments."),
    )
    priority = models.CharField(_("priority"), max_length=2, choices=Priority.choices, default=Priority.P2)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+"
    )
    # Outcomes at intake
    answer = models.TextField(_("direct answer"), max_length=LONG_TEXT, blank=True)
    reject_route = models.CharField(_("lawful route"), max_length=16, choices=RejectRoute.choices, blank=True)
    reject_reason = models.TextField(_("reason not accepted"), max_length=SHORT_TEXT, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_appeals",
    )
    concluded_at = models.DateTimeField(_("intake concluded at"), null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("intake concluded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Escalation to the city government (P0 appeals are escalated at intake).
    is_escalated = models.BooleanField(_("escalated to the city government"), default=False, db_default=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # Left out of department scores (malicious or unreasonable appeals), by approval only.
    is_excluded_from_appraisal = models.BooleanField(_("excluded from appraisal"), default=False, db_default=False)
    exclusion_reason = models.TextField(_("reason for exclusion"), max_length=SHORT_TEXT, blank=True, db_default="")
    # Set when the retention job removed the citizen's personal data (apps.appeals.retention).
    anonymised_at = models.DateTimeField(_("personal data anonymised at"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Character bigrams of content and address (apps.appeals.search), for word search.
    search_text = models.TextField(_("search terms"), blank=True, editable=False)

    objects = AuditedQuerySet.as_manager()
    history = audited_history(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-received_at", "-id"]
        permissions = [("view_citizen_contact", _("Can see citizens' full name and phone (logged)"))]
        indexes = [
            # The appeal changelist's default order (newest first), first pages without a sort.
            models.Index(fields=["-received_at", "-id"], name="appeal_received_idx"),
            # Dispatcher's "to dispatch" list and status lists, newest first.
            models.Index(fields=["status", "-received_at"], name="appeal_status_received_idx"),
            # Duplicate suggestions: same phone within 30 days (by the phone's blind index).
            models.Index(fields=["citizen_phone_index", "-received_at"], name="appeal_phone_bidx_received_idx"),
            # A permitted lookup by a full ID number (few appeals carry one: a partial index).
            models.Index(
                fields=["citizen_id_number_index"],
                name="appeal_id_number_bidx_idx",
                condition=~models.Q(citizen_id_number_index=""),
            ),
            # Duplicate suggestions: same area and category within 30 days.
            models.Index(fields=["area", "category", "-received_at"], name="appeal_area_cat_received_idx"),
            # The city leader's list: escalated appeals and emergencies (≈0.05 % of them).
            models.Index(
                fields=["-received_at", "-id"],
                name="appeal_escalated_received_idx",
                condition=models.Q(is_escalated=True) | models.Q(priority="P0"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["received", "answered", "rejected", "merged", "dispatched", "reviewed", "closed"]
                ),
                name="appeals_appeal_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=["P0", "P1", "P2", "P3"]), name="appeals_appeal_priority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    channel__in=["phone", "wechat", "weibo", "app", "web", "letter", "email", "counter"]
                ),
                name="appeals_appeal_channel_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    appeal_type__in=["consultation", "help", "complaint", "report", "suggestion", "praise", "other"]
                ),
                name="appeals_appeal_type_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="merged") | models.Q(merged_into__isnull=False),
                name="appeals_appeal_merged_has_target",
            ),
        ]

    def __str__(self):
        return self.tracking_number

    def move_to(self, status: str) -> None:
        if status not in self.ALLOWED.get(self.status, set()):
            raise InvalidTransition(
                _("Appeal %(number)s is “%(current)s”; it cannot become “%(new)s”.")
                % {
                    "number": self.tracking_number,
                    "current": self.get_status_display(),
                    "new": self.Status(status).label,
                }
            )
        self.status = status
