"""Input that forms accept before any query or date arithmetic sees it.

A form field can accept what the code after it cannot use: a date like 0001-01-01 or
9999-12-31 is a valid date, but making it aware, converting it to UTC or adding a day
overflows (a 500); an id like "abc" in a picker is refused by the field, and then the
autocomplete widget, rendering the refused form again, queries with it (a 500 too). Here,
the one range of dates the product handles, and the hardening every product form gets
(apps.core.admin_actions.ActionForm, apps.core.admin_forms.ServiceModelForm, the admin's
own forms through the base admin classes): a clear error on the field, in the user's
language, instead.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.widgets import AutocompleteMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# Far enough for any record (the centre opened in 2018) and any limit; near enough that
# time zones and a few days either side never leave Python's calendar.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
# Ids are 64-bit integers: a longer number can match nothing.
ID_MAX_DIGITS = 18


def validate_date_in_range(value) -> None:
    """ValidationError for a date or datetime outside DATE_MIN..DATE_MAX."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValidationError(
            _("Enter a date between %(min)s and %(max)s.") % {"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()},
            code="date_out_of_range",
        )


class BoundedDateField(forms.DateField):
    """A DateField that accepts only dates between DATE_MIN and DATE_MAX."""

    default_validators = [validate_date_in_range]


def parse_id(value) -> int | None:
    """The id in `value` ("123"), or None when it is not a plain number that an id could be
    (letters, "１２" in full-width or "²" digits, a sign, too many digits)."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > ID_MAX_DIGITS:
        return None
    return int(text)


class _SafeAutocompleteMixin:
    """An autocomplete widget that, rendering a refused form again, shows only the values
    that could be ids (Django's queries with whatever was posted and fails)."""

    def optgroups(self, name, value, attr=None):
        to_field = self.choices.field.to_field_name or self.choices.queryset.model._meta.pk.name
        model_field = self.choices.queryset.model._meta.get_field(to_field)
        usable = [item for item in value or [] if item not in (None, "") and _could_be(model_field, item)]
        return super().optgroups(name, usable, attr)


def _could_be(model_field, value) -> bool:
    if isinstance(model_field, models.IntegerField):  # AutoField and BigAutoField too
        return parse_id(value) is not None
    try:
        model_field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def _int_keyed(field) -> bool:
    model = field.queryset.model
    return isinstance(model._meta.get_field(field.to_field_name or model._meta.pk.name), models.IntegerField)


class _SafeModelChoiceMixin:
    """A picker that refuses a value no id could be before querying with it (a number
    beyond 64 bits overflows SQLite's integers, and PostgreSQL refuses it)."""

    def to_python(self, value):
        if value not in self.empty_values and _int_keyed(self) and parse_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class _SafeModelMultipleChoiceMixin:
    def _check_values(self, value):
        if _int_keyed(self):
            for pk in value:
                if parse_id(pk) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super()._check_values(value)


_safe_classes: dict[type, type] = {}


def _swap_class(obj, mixin) -> None:
    """Give `obj` (a field or widget of one form) `mixin`'s checks, keeping its own class."""
    cls = type(obj)
    if issubclass(cls, mixin):
        return
    safe = _safe_classes.get(cls)
    if safe is None:
        safe = _safe_classes[cls] = type(f"Safe{cls.__name__}", (mixin, cls), {})
    obj.__class__ = safe


def _safe_widget(widget) -> None:
    inner = getattr(widget, "widget", None)  # the admin's RelatedFieldWidgetWrapper
    if inner is not None and inner is not widget:
        _safe_widget(inner)
    if isinstance(widget, AutocompleteMixin):
        _swap_class(widget, _SafeAutocompleteMixin)


def harden_field(field) -> None:
    """Bound dates, pickers that check an id before querying, and autocompletes that
    survive a refused value."""
    if field is None:
        return
    if isinstance(field, forms.ModelMultipleChoiceField):
        _swap_class(field, _SafeModelMultipleChoiceMixin)
    elif isinstance(field, forms.ModelChoiceField):
        _swap_class(field, _SafeModelChoiceMixin)
    if isinstance(field, (forms.DateField, forms.DateTimeField, forms.SplitDateTimeField)):
        if validate_date_in_range not in field.validators:
            field.validators.append(validate_date_in_range)
    _safe_widget(field.widget)


def harden_form(form) -> None:
    for field in form.fields.values():
        harden_field(field)
