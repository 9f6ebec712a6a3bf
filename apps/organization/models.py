from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.history import audited_history
from apps.core.models import AuditedQuerySet, TimeStampedModel

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$",
    _("Use letters, digits, '-' and '_' only (at most 40 characters)."),
)


class TreeQuerySet(AuditedQuerySet):
    def subtree_of(self, node):
        """The node and everything below it (one indexed prefix match on `path`)."""
        return self.filter(path__startswith=node.path)


class Area(TimeStampedModel):
    """An administrative area: the city, its districts, streets (towns) and communities."""

    class Kind(models.TextChoices):
        CITY = "city", _("city")
        DISTRICT = "district", _("district / county")
        STREET = "street", _("street / town")
        COMMUNITY = "community", _("community / village")

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent area"), on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    # Materialised path of codes ("/5111/511102/"): subtree queries are one prefix match.
    path = models.CharField(_("path"), max_length=500, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)

    objects = TreeQuerySet.as_manager()
    history = audited_history(excluded_fields=["path", "depth"])

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["city", "district", "street", "community"]),
                name="organization_area_kind_valid",
            ),
        ]

    def __str__(self):
        return self.name


class Department(TimeStampedModel):
    """A unit that receives work orders: the city government, the centre, bureaus, district
    governments, street offices, communities and public utilities. Each has its own auth
    group, kept in step by organization.services."""

    class Kind(models.TextChoices):
        CITY_GOVERNMENT = "city_government", _("city government")
        SERVICE_CENTRE = "service_centre", _("service centre")
        SUPERVISION = "supervision", _("supervision office")
        BUREAU = "bureau", _("municipal bureau")
        DISTRICT_GOVERNMENT = "district_government", _("district / county government")
        STREET_OFFICE = "street_office", _("street office / town")
        COMMUNITY = "community", _("community / village committee")
        ENTERPRISE = "enterprise", _("public utility / enterprise")

    code = models.CharField(
        _("code"), max_length=40, unique=True, validators=[code_validator], help_text=_("Cannot be changed later.")
    )
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    area = models.ForeignKey(Area, verbose_name=_("area served"), on_delete=models.PROTECT, related_name="departments")
    group = models.OneToOneField(
        Group, verbose_name=_("auth group"), on_delete=models.PROTECT, related_name="department", editable=False
    )
    phone = models.CharField(_("office phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    path = models.CharField(_("path"), max_length=1000, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)

    objects = TreeQuerySet.as_manager()
    history = audited_history(excluded_fields=["path", "depth"])

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=[
                        "city_government",
                        "service_centre",
                        "supervision",
                        "bureau",
                        "district_government",
                        "street_office",
                        "community",
                        "enterprise",
                    ]
                ),
                name="organization_department_kind_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("pk")), name="organization_department_not_own_parent"
            ),
        ]

    def __str__(self):
        return self.name


class StaffManager(UserManager.from_queryset(AuditedQuerySet)):
    pass


class User(AbstractUser):
    """A staff account. Belongs to one department with one role; deactivated, never deleted."""

    class Role(models.TextChoices):
        OPERATOR = "operator", _("operator")
        DISPATCHER = "dispatcher", _("dispatcher")
        DEPT_STAFF = "dept_staff", _("department staff")
        DEPT_LEADER = "dept_leader", _("department leader")
        CITY_LEADER = "city_leader", _("city leader")
        VISIT_AGENT = "visit_agent", _("return-visit agent")
        INSPECTOR = "inspector", _("inspector")
        SYSTEM_ADMIN = "system_admin", _("system administrator")
        SECURITY_ADMIN = "security_admin", _("security administrator")
        AUDIT_ADMIN = "audit_admin", _("audit administrator")

    name = models.CharField(_("full name"), max_length=50, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices, blank=True)
    phone = models.CharField(_("work phone"), max_length=30, blank=True)
    is_service_account = models.BooleanField(
        _("service account"), default=False, editable=False, help_text=_("Used by background jobs; cannot log in.")
    )
    # When the password was last set (expiry, MLPS 8.1.4.1a); set by set_password.
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True, editable=False)

    objects = StaffManager()
    history = audited_history(excluded_fields=["password", "last_login", "password_changed_at"])

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["username"]
        indexes = [
            # Department staff lists and "who in this department has role X" (routing).
            models.Index(fields=["department", "role"], name="org_user_dept_role_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    role__in=[
                        "",
                        "operator",
                        "dispatcher",
                        "dept_staff",
                        "dept_leader",
                        "city_leader",
                        "visit_agent",
                        "inspector",
                        "system_admin",
                        "security_admin",
                        "audit_admin",
                    ]
                ),
                name="organization_user_role_valid",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.username})" if self.name else self.username

    def get_full_name(self):
        return self.name or self.username

    def set_password(self, raw_password):
        # Every way a password is set (services, Django's forms, createsuperuser) passes here;
        # the old hash goes to PasswordHistory when the user is saved
        # (apps.organization.login.PasswordHistoryValidator.password_changed).
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def save(self, *args, update_fields=None, **kwargs):
        # A save of the password alone (staff_set_password) also saves when it was set.
        if update_fields is not None and "password" in update_fields and "password_changed_at" not in update_fields:
            update_fields = [*update_fields, "password_changed_at"]
        super().save(*args, update_fields=update_fields, **kwargs)

    def get_short_name(self):
        return self.name or self.username

    def described(self) -> str:
        """ "张伟（部门负责人 · 市住建局）": who someone is, for a reader who does not know
        them (select_related("department") where many are shown)."""
        parts = [self.get_role_display() if self.role else "", self.department.name if self.department_id else ""]
        detail = " · ".join(p for p in parts if p)
        return f"{self.get_full_name()}（{detail}）" if detail else self.get_full_name()


class PasswordHistory(models.Model):
    """A staff member's earlier password hashes (never the passwords), so that none of the
    last PASSWORD_HISTORY_COUNT is chosen again (MLPS 8.1.4.1a)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history", editable=False)
    password = models.CharField(_("password hash"), max_length=128, editable=False)
    created_at = models.DateTimeField(_("set at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("earlier password")
        verbose_name_plural = _("earlier passwords")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="org_pwhistory_user_idx")]

    def __str__(self):
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d}"
