"""One place that says how business models keep their history (django-simple-history)."""

from django.db import models
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords


class _HistoryManager(HistoryManager):
    """simple-history's `Model.history` descriptor calls `from_queryset()` on every access,
    and it accesses it for every history row it writes: Django then builds a new manager
    class by inspecting every QuerySet method (≈0.3 ms, three times per appeal at intake).
    The class depends only on its arguments, so it is built once."""

    _made: dict = {}

    @classmethod
    def from_queryset(cls, queryset_class, class_name=None):
        key = (cls, queryset_class, class_name)
        made = cls._made.get(key)
        if made is None:
            made = cls._made[key] = super().from_queryset(queryset_class, class_name)
        return made


def audited_history(**kwargs) -> HistoricalRecords:
    """HistoricalRecords with the project's conventions.

    - 64-bit history ids: history tables outgrow 2^31 rows long before the business ones.
    - Reasons are text (set `obj._change_reason` before `save()`); users come from
      `obj._history_user` (services set it) or the request (HistoryRequestMiddleware).
    """
    kwargs.setdefault("history_id_field", models.BigAutoField(primary_key=True, serialize=False))
    kwargs.setdefault("cascade_delete_history", False)
    kwargs.setdefault("history_manager", _HistoryManager)
    return HistoricalRecords(**kwargs)


def set_history_context(obj, *, actor, reason: str) -> None:
    """Mark who is changing `obj` and why; read by simple-history on the next save()."""
    obj._history_user = actor
    obj._change_reason = reason
