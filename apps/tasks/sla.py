"""Time limits: which rule applies, the due times it gives, the lights, and what the SLA
sweep has to do for a task. Pure functions over a Task's fields (no queries), except
`rule_for`, which reads the rule table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from apps.core import working_calendar
from apps.core.process_cache import short_lived
from apps.tasks.models import LimitUnit, Reminder, SlaRule, Task


@dataclass(frozen=True)
class Limits:
    sign: tuple[int, str]
    contact: tuple[int, str]
    resolve: tuple[int, str]


# DESIGN §5, used when the rule table has no row for a priority.
DEFAULT_LIMITS = {
    "P0": Limits((30, LimitUnit.MINUTES), (30, LimitUnit.MINUTES), (24, LimitUnit.HOURS)),
    "P1": Limits((30, LimitUnit.MINUTES), (2, LimitUnit.HOURS), (24, LimitUnit.HOURS)),
    "P2": Limits((1, LimitUnit.WORKING_DAYS), (1, LimitUnit.WORKING_DAYS), (7, LimitUnit.CALENDAR_DAYS)),
    "P3": Limits((1, LimitUnit.WORKING_DAYS), (2, LimitUnit.WORKING_DAYS), (15, LimitUnit.CALENDAR_DAYS)),
}


def rule_for(*, priority: str, appeal_type: str, category) -> Limits:
    """The most specific active rule: a deeper category beats a shallower one, which beats
    "any category"; at equal category, a rule for the appeal type beats "any type"."""
    ancestors = set(c for c in category.path.strip("/").split("/") if c) if category is not None else set()
    best, best_score = None, (-1, -1)
    for rule in _active_rules():
        if rule["priority"] != priority or rule["appeal_type"] not in {"", appeal_type}:
            continue
        if rule["category_code"] is not None and rule["category_code"] not in ancestors:
            continue
        score = (
            rule["category_depth"] + 1 if rule["category_code"] is not None else 0,
            1 if rule["appeal_type"] else 0,
        )
        if score > best_score:
            best, best_score = rule, score
    if best is None:
        return DEFAULT_LIMITS[priority]
    return Limits(
        (best["sign_amount"], best["sign_unit"]),
        (best["contact_amount"], best["contact_unit"]),
        (best["resolve_amount"], best["resolve_unit"]),
    )


@short_lived(30)
def _active_rules() -> list[dict]:
    """The whole active rule table (a few dozen rows), read once per process every 30 s."""
    return list(
        SlaRule.objects.filter(is_active=True).values(
            "priority", "appeal_type", "sign_amount", "sign_unit", "contact_amount", "contact_unit",
            "resolve_amount", "resolve_unit", category_code=F("category__code"), category_depth=F("category__depth"),
        )
    )


def invalidate_rules() -> None:
    """Forget this process's copy of the rule table (after a rule is saved, on commit)."""
    _active_rules.clear()


def add_limit(start: dt.datetime, amount: int, unit: str) -> dt.datetime:
    if unit == LimitUnit.MINUTES:
        return start + dt.timedelta(minutes=amount)
    if unit == LimitUnit.HOURS:
        return start + dt.timedelta(hours=amount)
    if unit == LimitUnit.WORKING_DAYS:
        return working_calendar.add_working_days(start, amount)
    if unit == LimitUnit.CALENDAR_DAYS:
        return start + dt.timedelta(days=amount)
    raise ValueError(f"Unknown limit unit {unit!r}")


def due_times(start: dt.datetime, limits: Limits) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    return add_limit(start, *limits.sign), add_limit(start, *limits.contact), add_limit(start, *limits.resolve)


# --- Which deadlines are still running ----------------------------------------------------

_SIGN_OPEN = {Task.Status.PENDING_SIGN, Task.Status.RETURN_REQUESTED}
_WORK_OPEN = {Task.Status.PENDING_SIGN, Task.Status.IN_PROGRESS, Task.Status.RETURN_REQUESTED}


def running_deadlines(task: Task) -> dict[str, dt.datetime]:
    """{kind: due} for the limits that still bind the department. A reply stops the clock."""
    running = {}
    if task.status in _SIGN_OPEN and task.signed_at is None:
        running[Reminder.Kind.SIGN] = task.sign_due_at
    if task.status in _WORK_OPEN and task.contacted_at is None:
        running[Reminder.Kind.CONTACT] = task.contact_due_at
    if task.status in _WORK_OPEN:
        running[Reminder.Kind.RESOLVE] = task.resolve_due_at
    return running


DUE_FIELD = {
    Reminder.Kind.SIGN: "sign_due_at",
    Reminder.Kind.CONTACT: "contact_due_at",
    Reminder.Kind.RESOLVE: "resolve_due_at",
}

OVERDUE_FIELD = {
    Reminder.Kind.SIGN: "sign_overdue_at",
    Reminder.Kind.CONTACT: "contact_overdue_at",
    Reminder.Kind.RESOLVE: "resolve_overdue_at",
}


def miss_marked(task, kind: str, due: dt.datetime) -> bool:
    """Is the miss of this deadline marked? The marker holds the due time it was set for,
    so a new deadline (an extension, a reopen's new limits) is unmarked until it is missed
    in turn; the earlier miss stays in the history, the action log and its reminder."""
    return getattr(task, OVERDUE_FIELD[kind]) == due


def reminder_time(due: dt.datetime) -> dt.datetime:
    """催办 goes out at the start of the working day after the missed deadline."""
    day = working_calendar.next_working_day(timezone.localtime(due).date())
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def refresh_deadlines(task: Task, *, reminded_kinds: set[str]) -> None:
    """Recompute next_due_at (for sorting and lights) and sweep_due_at (for the sweep)."""
    running = running_deadlines(task)
    task.next_due_at = min(running.values()) if running else None
    events = []
    for kind, due in running.items():
        if not miss_marked(task, kind, due):
            events.append(due)
        elif kind not in reminded_kinds:
            events.append(reminder_time(due))
    task.sweep_due_at = min(events) if events else None


def light(task: Task, now: dt.datetime | None = None) -> str:
    """Green / yellow / red for lists: red once a running limit is missed, yellow in the
    last fifth of a limit's window (or its last hour)."""
    now = now or timezone.now()
    running = running_deadlines(task)
    if not running:
        return Task.Light.GREEN
    if any(due <= now for due in running.values()):
        return Task.Light.RED
    due = min(running.values())
    window = due - task.dispatched_at
    threshold = max(window / 5, min(window / 2, dt.timedelta(hours=1)))
    if due - now <= threshold:
        return Task.Light.YELLOW
    return Task.Light.GREEN
