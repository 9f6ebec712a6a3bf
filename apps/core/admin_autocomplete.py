"""Ids the database cannot hold, sent in a form, are an invalid choice, never a 500.

Two of Django's lookups use submitted ids before checking them:
- AutocompleteMixin.optgroups looks up the submitted values to show them as selected:
  a department id of "abc" in any admin form with an autocomplete widget (the add and
  change forms of every admin with autocomplete_fields, the dispatch and reassignment
  forms, the history query) raised ValueError while the form was shown with its errors;
- ModelMultipleChoiceField checks each id's type but not its size: an id past the
  database's integer range reached the database (OverflowError on SQLite, "out of range"
  on PostgreSQL).
Values the target field cannot hold are dropped before the widget's lookup, and refused
as "not a valid value" by the field; the forms' own validation is otherwise untouched.
"""

from __future__ import annotations

from django.contrib.admin.widgets import AutocompleteMixin
from django.core.exceptions import ValidationError
from django.forms.models import ModelMultipleChoiceField

_original_optgroups = AutocompleteMixin.optgroups
_original_check_values = ModelMultipleChoiceField._check_values


def _holds(target, value) -> bool:
    """Whether the model field `target` can hold `value`: its type, then the backend's range."""
    try:
        target.run_validators(target.to_python(value))
    except (ValidationError, TypeError, ValueError, OverflowError):
        return False
    return True


def optgroups(self, name, value, attr=None):
    remote = self.field.remote_field
    opts = remote.model._meta
    target = opts.get_field(getattr(remote, "field_name", None) or opts.pk.attname)
    return _original_optgroups(self, name, [v for v in value if _holds(target, v)], attr)


def _check_values(self, value):
    opts = self.queryset.model._meta
    target = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
    for pk in value if isinstance(value, list | tuple | set | frozenset) else ():
        if isinstance(pk, str | int) and not _holds(target, pk):
            raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk})
    return _original_check_values(self, value)


def install() -> None:
    AutocompleteMixin.optgroups = optgroups
    ModelMultipleChoiceField._check_values = _check_values
