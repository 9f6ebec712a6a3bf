"""How long a free text may be: one decision, used by the models, the forms and the services.

SHORT_TEXT  reasons, comments, notes, opinions and decisions: what a person writes to
            justify or record a step (a change reason, a return request, a review comment,
            a contact note, a leader's comment, a department's opinion).
LONG_TEXT   what the citizen said and what is written back at length: an appeal's
            content, a direct answer, a reply, an instruction, a consultation's question,
            an accountability finding and decision, a rectification note.

The models carry the limit as max_length on their TextFields (so ModelForms get it, with
the textarea's maxlength); action forms and plain forms get SHORT_TEXT for any text field
without its own limit (`limit_text_fields`); the services check it (validation.require_text
and limit_text), so any caller, the admin or a future API, gets the same answer.
"""

from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator

SHORT_TEXT = 2000
LONG_TEXT = 5000


def limit_text_fields(form: forms.BaseForm, limit: int = SHORT_TEXT) -> None:
    """Give each text field of the form that has no limit of its own `limit`: validated,
    and stated to the browser as the widget's maxlength."""
    for field in form.fields.values():
        is_text = isinstance(field, forms.CharField) and not isinstance(field, forms.JSONField)
        if is_text and field.max_length is None:
            field.max_length = limit
            field.validators.append(MaxLengthValidator(limit))
            field.widget.attrs.update(field.widget_attrs(field.widget))


def clip(text: str, limit: int = SHORT_TEXT) -> str:
    """A reason composed of our words and someone's text (checked on the way in), cut to the
    limit so the next service does not refuse it; the person's text stays whole where it
    was written (its own row and the action log)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TextLimitedForm(forms.Form):
    """A plain form whose text fields without a limit get SHORT_TEXT."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit_text_fields(self)
