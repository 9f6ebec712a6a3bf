"""A work order's life, computed in memory the way the services and the SLA sweep leave it.

`plan_life` draws when each step happens (sign, contact, reply, review; or a return),
possibly after `now`; `Life.at(now)` keeps what has happened by then. From that,
`running_intervals` says when each time limit was running (apps.tasks.sla.running_deadlines
over time), and `sweep_marks` when a miss was marked and the reminder issued: the minute
sweep (apps.tasks.services._sweep_one) marks a miss at its first run at or after the due
time while the limit still runs, unless a transition stops the clock before that run, in
which case the transition marks it (services._note_misses); the reminder goes out at the
first sweep run at or after the reminder time while the limit still runs.

Due times come from `Deadlines`: sla.rule_for and sla.due_times, memoised (the rule table
is read once per priority × type × category, the working-day arithmetic once per date).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import random

from django.utils import timezone

from apps.core import working_calendar
from apps.tasks import sla
from apps.tasks.models import LimitUnit

UTC = dt.UTC
SWEEP_PERIOD_SECONDS = 60  # settings.CELERY_BEAT_SCHEDULE["sla-sweep"]
SWEEP_OFFSET_SECONDS = 3.0  # beat's phase within the minute

# Shares of work orders that miss a limit (DESIGN §6 overdue rate), and other branches.
MISS_SIGN = 0.008
MISS_CONTACT = 0.012
MISS_RESOLVE = 0.020
SENT_BACK = 0.05
# Anonymous citizens who left no phone number cannot be called back (services.task_reply
# lets those work orders be replied to without a contact).
UNREACHABLE_NOT_CONTACTED = 0.7
RESULTS = (("resolved", 70), ("partly", 12), ("explained", 15), ("not_resolvable", 3))
CONTACT_METHODS = (("phone", 80), ("sms", 8), ("visit", 10), ("other", 2))
LATE_RESOLVE_SECONDS = {"P0": 6 * 3600, "P1": 6 * 3600, "P2": 2.5 * 86400, "P3": 4 * 86400}


class Deadlines:
    """sla.rule_for + sla.due_times + sla.reminder_time, memoised; results are identical."""

    def __init__(self):
        from apps.tasks.models import SlaRule

        self.tz = timezone.get_current_timezone()
        self._limits: dict = {}
        self._working: dict = {}
        self._reminder: dict = {}
        # rule_for depends on the type and the category only if some active rule names one.
        active = SlaRule.objects.filter(is_active=True)
        self._by_type = active.exclude(appeal_type="").exists()
        self._by_category = active.exclude(category=None).exists()

    def limits(self, *, priority: str, appeal_type: str, category) -> sla.Limits:
        key = (priority, appeal_type if self._by_type else "", category.pk if self._by_category else None)
        hit = self._limits.get(key)
        if hit is None:
            hit = self._limits[key] = sla.rule_for(priority=priority, appeal_type=appeal_type, category=category)
        return hit

    def due_times(self, start: dt.datetime, limits: sla.Limits) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
        return self.add(start, *limits.sign), self.add(start, *limits.contact), self.add(start, *limits.resolve)

    def add(self, start: dt.datetime, amount: int, unit: str) -> dt.datetime:
        if unit != LimitUnit.WORKING_DAYS:
            return sla.add_limit(start, amount, unit)
        return self.add_working_days(start, amount)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """working_calendar.add_working_days: the answer depends on the local date only
        (the time of day is kept, or reset to 00:00 when starting on a day off)."""
        local = start.astimezone(self.tz)
        key = (local.date(), days)
        hit = self._working.get(key)
        if hit is None:
            real = working_calendar.add_working_days(start, days)
            shift = (real.astimezone(self.tz).date() - local.date()).days
            self._working[key] = (shift, not working_calendar.is_working_day(local.date()))
            return real
        shift, from_midnight = hit
        clock = dt.time.min if from_midnight else local.time()
        return timezone.make_aware(dt.datetime.combine(local.date() + dt.timedelta(days=shift), clock), self.tz)

    def reminder_time(self, due: dt.datetime) -> dt.datetime:
        day = due.astimezone(self.tz).date()
        hit = self._reminder.get(day)
        if hit is None:
            hit = self._reminder[day] = sla.reminder_time(due)
        return hit


def sweep_tick(moment: dt.datetime) -> dt.datetime:
    """The first run of the minute sweep at or after `moment`."""
    ts = moment.timestamp() - SWEEP_OFFSET_SECONDS
    return dt.datetime.fromtimestamp(math.ceil(ts / SWEEP_PERIOD_SECONDS) * SWEEP_PERIOD_SECONDS
                                     + SWEEP_OFFSET_SECONDS, UTC)


STEPS = ("signed_at", "contacted_at", "replied_at", "sent_back_at", "replied_again_at", "accepted_at")
RETURN_STEPS = ("signed_at", "return_requested_at", "return_decided_at")


@dataclasses.dataclass
class Life:
    """When each step of one work order happens (None: it does not). Actors ride along."""

    dispatched_at: dt.datetime
    sign_due: dt.datetime
    contact_due: dt.datetime
    resolve_due: dt.datetime
    handler: object
    signed_at: dt.datetime | None = None
    contacted_at: dt.datetime | None = None
    contact_method: str = ""
    replied_at: dt.datetime | None = None
    result: str = ""
    sent_back_at: dt.datetime | None = None
    sent_back_by: object = None
    replied_again_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    accepted_by: object = None
    return_requested_at: dt.datetime | None = None
    return_decided_at: dt.datetime | None = None
    return_decided_by: object = None

    @property
    def is_return(self) -> bool:
        return self.return_requested_at is not None

    def at(self, now: dt.datetime) -> Life:
        """The same work order as it stands at `now`: later steps have not happened yet."""
        seen = copy.copy(self)
        cut = False
        for step in (RETURN_STEPS if self.is_return else STEPS):
            value = getattr(seen, step)
            if value is None:
                continue  # a step this work order skips (no contact, no send-back)
            if cut or value > now:
                cut = True
                setattr(seen, step, None)
        if seen.contacted_at is None:
            seen.contact_method = ""
        if seen.replied_at is None:
            seen.result = ""
        return seen

    @property
    def status(self) -> str:
        if self.return_decided_at:
            return "returned"
        if self.return_requested_at:
            return "return_requested"
        if self.accepted_at:
            return "done"
        if self.replied_again_at:
            return "replied"
        if self.sent_back_at:
            return "in_progress"
        if self.replied_at:
            return "replied"
        if self.signed_at:
            return "in_progress"
        return "pending_sign"


def _first(*moments):
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def _stop(*candidates: tuple) -> tuple:
    """The earliest (moment, actor) among the transitions that stop a clock; (None, None) if none."""
    present = [c for c in candidates if c[0] is not None]
    return min(present, key=lambda c: c[0]) if present else (None, None)


def running_intervals(life: Life) -> dict[str, list[tuple]]:
    """When each limit was running (sla.running_deadlines over time), as (start, end, actor of
    the transition that ends it); end None = still running."""
    start, handler = life.dispatched_at, life.handler
    decided = (life.return_decided_at, life.return_decided_by)
    intervals = {
        "sign": [(start, *_stop((life.signed_at, handler), decided))],
        "contact": [(start, *_stop((life.contacted_at, handler), (life.replied_at, handler), decided))],
        "resolve": [(start, *_stop((life.replied_at, handler), decided))],
    }
    if life.sent_back_at:  # a reply sent back restarts the limits at their original due times
        again = (life.sent_back_at, life.replied_again_at, handler if life.replied_again_at else None)
        intervals["resolve"].append(again)
        if life.contacted_at is None:
            intervals["contact"].append(again)
    return intervals


def _first_mark(intervals: list[tuple], due: dt.datetime) -> tuple | None:
    """(moment, actor) a miss is marked: the sweep's first run while the limit runs (actor
    None), or the transition that stops the clock before that run."""
    for start, end, end_actor in intervals:
        if end is not None and end <= due:
            continue
        tick = sweep_tick(max(start, due))
        if end is None or tick < end:
            return tick, None
        return end, end_actor
    return None


def _first_sweep_while_running(intervals: list[tuple], moment: dt.datetime) -> dt.datetime | None:
    for start, end, _actor in intervals:
        if end is not None and end <= moment:
            continue
        tick = sweep_tick(max(start, moment))
        if end is None or tick < end:
            return tick
    return None


@dataclasses.dataclass(frozen=True)
class Mark:
    kind: str
    due: dt.datetime
    marked_at: dt.datetime
    marked_by: object  # None: the sweep (system account); else the acting user of the transition
    reminded_at: dt.datetime | None


def sweep_marks(life: Life, deadlines: Deadlines, now: dt.datetime) -> list[Mark]:
    """The misses marked by `now` (by the sweep or a transition), and the reminders issued."""
    intervals = running_intervals(life)
    marks = []
    for kind, due in (("sign", life.sign_due), ("contact", life.contact_due), ("resolve", life.resolve_due)):
        if due > now:
            continue
        first = _first_mark(intervals[kind], due)
        if first is None or first[0] > now:
            continue
        marked_at, marked_by = first
        reminded = _first_sweep_while_running(intervals[kind], max(deadlines.reminder_time(due), marked_at))
        marks.append(Mark(kind, due, marked_at, marked_by,
                          reminded if reminded is not None and reminded <= now else None))
    return marks


# --- Drawing a life ---------------------------------------------------------------------------


def _weighted(rng: random.Random, pairs) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _late(rng: random.Random, mean_seconds: float) -> dt.timedelta:
    return dt.timedelta(seconds=60 + rng.expovariate(1 / mean_seconds))


def office_hours(rng: random.Random, moment: dt.datetime, tz, *, latest: dt.datetime | None = None) -> dt.datetime:
    """Move a department's or reviewer's step out of the night (21:00-08:00) to the next
    morning, unless that would pass `latest` (a limit they kept)."""
    local = moment.astimezone(tz)
    if 8 <= local.hour < 21:
        return moment
    day = local.date() if local.hour < 8 else local.date() + dt.timedelta(days=1)
    morning = timezone.make_aware(dt.datetime.combine(day, dt.time(8, 0)), tz).astimezone(UTC)
    moved = morning + dt.timedelta(seconds=rng.uniform(0, 6000))
    if latest is not None and moved > latest:
        return moment
    return moved


def _within(rng: random.Random, start: dt.datetime, end: dt.datetime, a: float, b: float) -> dt.datetime:
    """A moment between start and end, early-skewed by Beta(a, b); at least a minute after start."""
    span = (end - start).total_seconds()
    return start + dt.timedelta(seconds=max(60.0, span * rng.betavariate(a, b)))


def _step(rng, start, due, *, miss: bool, late_mean: float, a: float, b: float, tz) -> dt.datetime:
    """When a step bound by `due` happens, from `start`: in time (early-skewed) or late."""
    if miss or due - start < dt.timedelta(minutes=2):
        return max(due, start) + _late(rng, late_mean)
    return office_hours(rng, _within(rng, start, due, a, b), tz, latest=due)


def _review_delay(rng: random.Random) -> dt.timedelta:
    return dt.timedelta(seconds=600 + rng.expovariate(1 / (10 * 3600)))


def plan_life(
    rng: random.Random,
    *,
    dispatched_at: dt.datetime,
    dues: tuple,
    priority: str,
    handler,
    dispatchers: list,
    is_unreachable: bool,
    is_return: bool,
    deadlines: Deadlines,
) -> Life:
    sign_due, contact_due, resolve_due = dues
    tz = deadlines.tz
    life = Life(dispatched_at, sign_due, contact_due, resolve_due, handler)
    sign_span = (sign_due - dispatched_at).total_seconds()
    life.signed_at = _step(rng, dispatched_at, sign_due, miss=rng.random() < MISS_SIGN,
                           late_mean=max(sign_span * 0.5, 3600), a=1.2, b=4.0, tz=tz)
    if is_return:
        return _plan_return(rng, life, dispatchers, deadlines)
    worked_from = life.signed_at
    if not (is_unreachable and rng.random() < UNREACHABLE_NOT_CONTACTED):
        contact_span = max((contact_due - life.signed_at).total_seconds(), 600)
        life.contacted_at = _step(rng, life.signed_at, contact_due, miss=rng.random() < MISS_CONTACT,
                                  late_mean=max(contact_span * 0.5, 3600), a=1.2, b=3.0, tz=tz)
        life.contact_method = _weighted(rng, CONTACT_METHODS)
        worked_from = life.contacted_at
    life.replied_at = _step(rng, worked_from, resolve_due, miss=rng.random() < MISS_RESOLVE,
                            late_mean=LATE_RESOLVE_SECONDS[priority], a=1.6, b=2.2, tz=tz)
    life.result = _weighted(rng, RESULTS)
    last_reply = life.replied_at
    if rng.random() < SENT_BACK:
        life.sent_back_at = office_hours(rng, last_reply + _review_delay(rng), tz)
        life.sent_back_by = rng.choice(dispatchers)
        # The limits run on at their original due times: departments hurry if there is time left.
        if resolve_due - life.sent_back_at > dt.timedelta(hours=2):
            life.replied_again_at = _within(rng, life.sent_back_at, resolve_due, 1.2, 3.0)
        else:
            life.replied_again_at = life.sent_back_at + dt.timedelta(seconds=rng.uniform(1800, 6 * 3600))
        last_reply = life.replied_again_at
    life.accepted_at = office_hours(rng, last_reply + _review_delay(rng), tz)
    life.accepted_by = rng.choice(dispatchers)
    return life


def _plan_return(rng: random.Random, life: Life, dispatchers: list, deadlines: Deadlines) -> Life:
    """退单 within 2 working days of dispatch (services.RETURN_WINDOW_WORKING_DAYS); most
    departments see at once that the order is not theirs and ask before the sign-for limit,
    without signing; the dispatcher decides within hours."""
    window_end = deadlines.add_working_days(life.dispatched_at, 2)
    if rng.random() < 0.85 and life.sign_due < window_end:
        window_end = life.sign_due
    life.return_requested_at = _within(rng, life.dispatched_at, window_end, 1.3, 3.0)
    if life.signed_at >= life.return_requested_at or rng.random() < 0.7:
        life.signed_at = None
    life.return_decided_at = life.return_requested_at + dt.timedelta(seconds=rng.uniform(600, 3 * 3600))
    life.return_decided_by = rng.choice(dispatchers)
    return life


def force_state(rng: random.Random, life: Life, state: str, now: dt.datetime, dispatchers: list) -> Life:
    """Redraw an ordinary recent life so that at `now` it stands in `state` (used to make sure
    small runs hold work orders in every state)."""
    span = now - life.dispatched_at
    forced = Life(life.dispatched_at, life.sign_due, life.contact_due, life.resolve_due, life.handler)
    later = now + dt.timedelta(hours=6)
    if state == "return_requested":
        forced.return_requested_at = life.dispatched_at + span * 0.5
        forced.return_decided_at, forced.return_decided_by = later, rng.choice(dispatchers)
        return forced
    if state == "pending_sign":
        forced.signed_at = later
        return forced
    forced.signed_at = life.dispatched_at + span * 0.2
    forced.contacted_at, forced.contact_method = life.dispatched_at + span * 0.4, "phone"
    forced.result, forced.accepted_by = "resolved", rng.choice(dispatchers)
    if state == "in_progress":
        forced.replied_at = later
    else:  # replied, under review
        forced.replied_at, forced.accepted_at = life.dispatched_at + span * 0.7, later
    return forced
