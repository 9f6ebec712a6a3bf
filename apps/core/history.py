"""One place that says how business models keep their history (django-simple-history)."""

from django.db import models
from simple_history.models import HistoricalRecords


def audited_history(**kwargs) -> HistoricalRecords:
    """HistoricalRecords with the project's conventions.

    - 64-bit history ids: history tables outgrow 2^31 rows long before the business ones.
    - Reasons are text (set `obj._change_reason` before `save()`); users come from
      `obj._history_user` (services set it) or the request (HistoryRequestMiddleware).
    """
    kwargs.setdefault("history_id_field", models.BigAutoField(primary_key=True, serialize=False))
    kwargs.setdefault("cascade_delete_history", False)
    return HistoricalRecords(**kwargs)


def set_history_context(obj, *, actor, reason: str) -> None:
    """Mark who is changing `obj` and why; read by simple-history on the next save()."""
    obj._history_user = actor
    obj._change_reason = reason
