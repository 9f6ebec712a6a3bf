from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import AuditBypassError
from apps.core.history import audited_history


class AuditedQuerySet(models.QuerySet):
    """QuerySet for models whose every change must leave history.

    `update()` and `delete()` write without signals, so simple-history would record
    nothing. They are refused; write through a service (one `save()` per row, or
    simple-history's `bulk_*_with_history` in bulk jobs) instead.
    """

    def update(self, **kwargs):
        raise AuditBypassError(f"QuerySet.update() on {self.model.__name__} would bypass history; use a service.")

    def delete(self):
        raise AuditBypassError(f"QuerySet.delete() on {self.model.__name__} would bypass history; use a service.")

    update.queryset_only = True
    delete.queryset_only = True


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class CalendarYear(TimeStampedModel):
    """Whether a year's official schedule (holidays and make-up working days) is entered.

    The State Council publishes next year's schedule around November. Until it is
    entered, deadlines in that year fall back to Monday-Friday and the admin warns.
    """

    class Source(models.TextChoices):
        LIBRARY = "library", _("chinese-calendar library")
        MANUAL = "manual", _("entered by hand")

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    is_published = models.BooleanField(
        _("schedule complete"),
        default=False,
        help_text=_("Tick once every holiday and make-up working day of the year is entered."),
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(_("note"), max_length=200, blank=True, help_text=_("e.g. the State Council notice number"))

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(year__gte=2000, year__lte=2100), name="core_calendaryear_year_range"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=["library", "manual"]), name="core_calendaryear_source_valid"
            ),
        ]

    def __str__(self):
        return str(self.year)


class CalendarDay(TimeStampedModel):
    """An exception to the Monday-Friday rule: a public holiday, or a make-up working day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday (no work)")
        WORKDAY = "workday", _("make-up working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50, help_text=_("e.g. National Day, Spring Festival"))

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["-date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "workday"]), name="core_calendarday_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.date.isoformat()} {self.get_kind_display()} {self.name}"

    def clean(self):
        # A make-up working day is always a weekend day; a weekday is a working day anyway.
        if self.kind == self.Kind.WORKDAY and self.date and self.date.weekday() < 5:
            raise ValidationError({"kind": _("A make-up working day must fall on a Saturday or Sunday.")})
