"""Versioned rows: the lock-and-check and the save that every action service repeats.

A row edited through an action form (appeal, work order, approval request, return visit,
supervision case, accountability record) has a `version` column. The form carries the
version the user saw; the service locks the row, refuses a stale version (`StaleObject`,
shown on the form with nothing changed) and saves the change as the next version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import models

from apps.core.exceptions import StaleObject
from apps.core.history import set_history_context

M = TypeVar("M", bound=models.Model)


def lock(
    queryset: models.QuerySet[M],
    *,
    pk,
    expected_version: int | None = None,
    stale_message: str | Callable[[M], str] = "",
    of: Sequence[str] = (),
) -> M:
    """The row `pk` of `queryset`, locked until commit (SELECT … FOR UPDATE, on the tables
    named in `of`, or all of them joined when empty), checked against `expected_version`."""
    locked = queryset.select_for_update(of=tuple(of)).get(pk=pk)
    check(locked, expected_version, stale_message)
    return locked


def check(obj: M, expected_version: int | None, stale_message: str | Callable[[M], str]) -> None:
    """Refuse a change prepared on another version than the row's (None: no check). The
    message may need the row (its number): then pass a function of it."""
    if expected_version is not None and obj.version != expected_version:
        raise StaleObject(stale_message(obj) if callable(stale_message) else stale_message)


def save(obj: models.Model, *, actor, reason: str, fields: Sequence[str] | None = None) -> None:
    """Save the change as the next version, its history row naming `actor` and `reason`.
    With `fields`, only those are written (and the version and updated_at with them)."""
    obj.version += 1
    set_history_context(obj, actor=actor, reason=reason)
    if fields is None:
        obj.save()
    else:
        obj.save(update_fields=[*fields, "version", "updated_at"])
