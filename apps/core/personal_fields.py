"""Which fields hold a citizen's personal data, and whether a query path reaches one.

Each model that holds personal data declares it once, as `PERSONAL_FIELDS` on the model
class (a tuple of field names). simple-history's historical models copy the fields but not
the class attributes: they are read through `instance_type`, the model they record.

The admin (apps.core.admin_forms.PersonalDataGuardMixin) refuses any query-string lookup,
ordering, filter, search or autocomplete whose path touches one of these fields: a
`?citizen_phone__startswith=139` answers digit by digit whether a guess matches, without
the logged reveal. Free text (TextField) and JSON (the action log's changes, job payloads)
are refused the same way in lookups: numbers typed into them are masked on display, and
`?content__regex=` or `?changes__citizen_phone__startswith=` would recover them.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP


def personal_fields_of(model) -> frozenset[str]:
    """The names `model` declares personal (its recorded model's, for a history model)."""
    recorded = getattr(model, "instance_type", None)  # simple-history's historical models
    declared = getattr(recorded or model, "PERSONAL_FIELDS", ())
    return frozenset(declared)


def personal_field_in_path(model, path: str, *, free_text: bool = False) -> str | None:
    """The `Model.field` a lookup or ordering `path` (e.g. "appeal__citizen_phone__startswith",
    "-address") touches if personal, else None. With `free_text`, a TextField or JSONField
    counts too.

    The path is walked through relations (forward, reverse and to history models) until
    the first non-relational field: what follows are lookups and transforms on it."""
    parts = path.lstrip("-?").split(LOOKUP_SEP)
    for part in parts:
        if part == "pk":
            part = model._meta.pk.name
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None  # Django ignores or refuses unknown names itself
        if part in personal_fields_of(model):
            return f"{model.__name__}.{part}"
        if not field.is_relation or field.related_model is None:
            if free_text and isinstance(field, (models.TextField, models.JSONField)):
                return f"{model.__name__}.{part}"
            return None
        model = field.related_model
    return None
