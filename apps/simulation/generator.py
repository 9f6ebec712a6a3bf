"""seed_city: a synthetic city at scale, reproducible from a seed (issue 4).

The phases, in order:
1. calendar  - the official holiday calendar for the period (through apps.organization.calendar);
2. city      - areas, departments with their groups, staff in role + department groups,
               written in bulk with "+" history rows and action-log entries, dated a week
               before the period starts;
3. catalogue - the category taxonomy (fixtures/categories.json) and one dispatch rule per
               leaf for the generated city, through apps.appeals.catalog (a few hundred rows);
4. appeals   - N appeals over the period, their work orders, grants, reminders, history
               rows and action-log entries, in time order, batch by batch; then the day
               counters of the tracking numbers;
5. indexes, checks - on a first large PostgreSQL load: rebuild the suspended indexes and
               verify the foreign keys (apps.simulation.bulk);
6. analyze   - planner statistics.

Rows are shaped like the services' (apps.appeals.services, apps.tasks.services, the SLA
sweep): the same fields filled, the same reasons, the same action-log changes. What the
generator leaves out: history keeps the creation row and the row of the final state of
each object, not every intermediate save; no notifications or outbox jobs (they would
have been delivered long ago); no leaders' approvals, instructions or adaptations.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import gc
import itertools
import json
import random
import string
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appeals import catalog
from apps.appeals.models import Appeal, Category, DispatchRule, TrackingCounter
from apps.appeals.search import index_text
from apps.audit.models import AuditEvent
from apps.core import working_calendar
from apps.core.encrypted import blind_index
from apps.core.personal_data import mask_phone
from apps.organization import roles
from apps.organization.models import Area, Department, User
from apps.organization.services import system_actor
from apps.simulation import lifecycle
from apps.simulation import vocabulary as V
from apps.simulation.action_log import ActionLog, hold_chain_lock, json_time
from apps.simulation.bulk import (
    BulkWriter,
    IdPool,
    SuspendedIndexes,
    analyze,
    check_foreign_keys,
    is_postgresql,
    restore_indexes,
)
from apps.tasks import sla
from apps.tasks.models import Reminder, Task, TaskGroupObjectPermission

UTC = dt.UTC
# simple-history's models (Model.history builds a manager on every access: look them up once).
HISTORY = {model: model.history.model for model in (Appeal, Task, Reminder, Area, Department, User)}
CODE_PREFIX = "G-"  # generated codes never collide with the demo city's (GOV, HOUSING, 511102...)
CITY_AREA_CODE = f"{CODE_PREFIX}5199"
HANDFUL = 100  # more appeals than this: the database is in use; refuse without --append
REASON = "generated city (seed_city)"
CATALOGUE_REASON = "dispatch catalogue of the generated city (seed_city)"

# Mixes from the brief of issue 4 (Leshan's 12345 and national figures).
CHANNELS = (("phone", 60), ("wechat", 12), ("app", 10), ("web", 8), ("counter", 4), ("weibo", 3), ("email", 2),
            ("letter", 1))
TYPES = (("consultation", 40), ("complaint", 20), ("help", 20), ("report", 8), ("suggestion", 7), ("praise", 2),
         ("other", 3))
PRIORITIES = (("P0", 0.05), ("P1", 5), ("P2", 80), ("P3", 15))
# Intake outcomes per appeal type: (answered, rejected, merged); the rest is dispatched.
# Consultations are mostly answered from the knowledge base: ≈28 % answered overall.
OUTCOMES = {"consultation": (0.66, 0.01, 0.01)}
OUTCOME_OTHERS = (0.05, 0.025, 0.025)
CO_HANDLING = 0.08
RETURNED = 0.03
REPEAT_CALLERS = 0.2
ANONYMOUS = 0.08
WEEKDAY_VOLUME = (1.15, 1.05, 1.0, 1.0, 0.95, 0.62, 0.55)
HOURLY_VOLUME = (0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 7, 7.5, 6.5, 4, 4.5, 6.5, 7, 6.5, 5, 3.5, 3, 2.8,
                 2.2, 1.4, 0.7)
MOBILE_PREFIXES = ("130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 175 176 177 "
                   "178 180 181 182 183 185 186 187 188 189 191 198 199").split()
OPEN_STATES = ("pending_sign", "in_progress", "return_requested", "replied")
ROLE_PREFIX = {"operator": "op", "dispatcher": "dp", "visit_agent": "va", "system_admin": "sa", "audit_admin": "aa",
               "city_leader": "cl", "inspector": "in", "dept_leader": "dl", "dept_staff": "ds"}
# Relative staff size of a handling department, by kind.
STAFF_WEIGHT = {"bureau": 8, "enterprise": 6, "district_government": 6, "street_office": 4, "community": 1}
HANDLING_KINDS = set(STAFF_WEIGHT)
# The tables the appeals phase fills; their secondary indexes are rebuilt after a first
# load of at least SUSPEND_FROM appeals (below that, keeping them is cheaper).
LOADED_MODELS = (Appeal, HISTORY[Appeal], Task, HISTORY[Task], Reminder, HISTORY[Reminder],
                 TaskGroupObjectPermission, AuditEvent)
SUSPEND_FROM = 50_000


def restore_file() -> Path:
    """Where the suspended index definitions of this database are kept until rebuilt."""
    name = Path(str(connection.settings_dict["NAME"])).name
    return Path(settings.VAR_DIR) / f"seed_city_restore_indexes.{name}.sql"


@dataclasses.dataclass(frozen=True)
class Options:
    appeals: int = 1_000_000
    departments: int = 3000
    staff: int = 30000
    months: int = 18
    seed: int = 42
    batch: int = 20000
    until: dt.datetime | None = None  # end of the period; default: now
    append: bool = False
    keep_indexes: bool = False  # never suspend indexes and foreign-key triggers


class RefusedError(Exception):
    """The database is not one seed_city should write to (message says why)."""


# --- Progress ---------------------------------------------------------------------------------


@dataclasses.dataclass
class PhaseReport:
    name: str
    seconds: float
    rows: dict[str, int]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclasses.dataclass
class Report:
    phases: list[PhaseReport]
    copy_seconds: dict[str, float]  # per table: time the writer spent sending and the server ingesting
    written: dict[str, int]  # per table: rows written


class Progress:
    """Progress lines (phase, rows, rows/s) and a per-phase summary."""

    def __init__(self, out, writer: BulkWriter):
        self.out = out
        self.writer = writer
        self.phases: list[PhaseReport] = []
        self._name = ""
        self._start = 0.0
        self._before: dict[str, int] = {}

    def write(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text)
            flush = getattr(self.out, "flush", None)
            if flush is not None:
                flush()

    def start(self, name: str) -> None:
        self._name, self._start, self._before = name, time.perf_counter(), dict(self.writer.written)
        self.write(f"[{name}] ...")

    def rows(self) -> dict[str, int]:
        return {t: n - self._before.get(t, 0) for t, n in self.writer.written.items() if n - self._before.get(t, 0)}

    def line(self, text: str) -> None:
        elapsed = time.perf_counter() - self._start
        total = sum(self.rows().values())
        self.write(f"[{self._name}] {text}  rows {total:,} ({total / max(elapsed, 1e-9):,.0f}/s)  {elapsed:,.0f}s")

    def done(self, extra_rows: dict[str, int] | None = None) -> PhaseReport:
        elapsed = time.perf_counter() - self._start
        rows = {**self.rows(), **(extra_rows or {})}
        report = PhaseReport(self._name, elapsed, rows)
        self.phases.append(report)
        self.write(f"[{self._name}] done: {report.total_rows:,} rows in {elapsed:,.1f}s "
                       f"({report.total_rows / max(elapsed, 1e-9):,.0f} rows/s)")
        return report


# --- Entry point ------------------------------------------------------------------------------


def seed_city(options: Options, *, out) -> Report:
    """Generate the city on the default database. Returns what was written, phase by phase.
    `out`: where progress lines go (None: nowhere)."""
    writer = BulkWriter(batch_size=options.batch)
    progress = Progress(out, writer)
    until = options.until or timezone.now()
    first_day, last_day = period_days(until, options.months)
    with hold_chain_lock():
        if restore_file().exists():
            progress.start("indexes")
            progress.write(f"[indexes] an earlier run was interrupted: restoring from {restore_file()}")
            restore_indexes(restore_file(), progress=progress.line)
            progress.done()
        check_database(options)
        actor = system_actor()
        progress.start("calendar")
        years = ensure_calendar(actor, first_day, last_day)
        progress.done({"calendar years imported": len(years)} if years else None)

        city = load_city()
        progress.start("city")
        if city is None:
            city_created = _local_midnight(first_day) - dt.timedelta(days=7)
            build_city(random.Random(f"{options.seed}:city"), options, writer, actor, city_created)
            city = load_city()
        else:
            progress.write(f"[city] reusing the generated city: {len(city.departments):,} departments, "
                           f"{sum(len(s) for s in city.handlers.values()) + len(city.operators):,}+ staff")
        progress.done()

        progress.start("catalogue")
        leaves = ensure_catalogue(city, actor)
        progress.done({"leaf categories": len(leaves)})

        progress.start("appeals")
        maker = AppealMaker(options=options, city=city, leaves=leaves, actor=actor, writer=writer,
                            until=until, first_day=first_day)
        suspended = None
        if bulk_load(options):
            suspended = SuspendedIndexes(LOADED_MODELS, restore_file=restore_file())
            count = suspended.suspend()
            progress.line(f"{count} secondary indexes and unique constraints suspended until the end "
                          f"(definitions in {restore_file()})")
        try:
            skipped_fk_triggers = maker.run(progress, skip_fk_triggers=suspended is not None)
        finally:
            progress.done()
            if suspended is not None:
                progress.start("indexes")
                suspended.restore(progress=progress.line)
                progress.done()
        if skipped_fk_triggers:
            progress.start("checks")
            checked = check_foreign_keys(LOADED_MODELS)
            progress.line(f"{checked} foreign keys verified set-wise (row triggers were skipped)")
            progress.done()

        progress.start("analyze")
        if options.appeals:
            analyze([*LOADED_MODELS, User, User.groups.through, Department, Area, Group])
        progress.done()
    return Report(progress.phases, dict(writer.seconds), dict(writer.written))


def bulk_load(options: Options) -> bool:
    """A first large load on PostgreSQL (not --append, nothing else writing): rebuild the
    indexes afterwards instead of maintaining them row by row."""
    return (is_postgresql() and not connection.in_atomic_block and not options.append
            and not options.keep_indexes and options.appeals >= SUSPEND_FROM)


def check_database(options: Options) -> None:
    count = Appeal.objects.all()[: HANDFUL + 1].count()
    if count > HANDFUL and not options.append:
        raise RefusedError(
            f"This database already holds more than {HANDFUL} appeals. seed_city writes up to millions of "
            "synthetic appeals, work orders, history rows and action-log entries that cannot be told apart "
            "from real ones and cannot be deleted (history and the action log are append-only). Run it on an "
            "empty database made for benchmarks or demos, or pass --append to add synthetic appeals to this "
            "one on purpose."
        )


def period_days(until: dt.datetime, months: int) -> tuple[dt.date, dt.date]:
    last = timezone.localtime(until).date()
    month_index = last.year * 12 + (last.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(last.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                         31, 31, 30, 31, 30, 31][month - 1])
    return dt.date(year, month, day), last


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)).astimezone(UTC)


def ensure_calendar(actor, first_day: dt.date, last_day: dt.date) -> list[int]:
    """Official holidays for the period's years, if not entered yet (deadlines and daily
    volumes depend on them). Years the chinese-calendar library does not cover stay
    Monday-Friday, as in production."""
    from apps.organization.calendar import calendar_import_library

    missing = [y for y in range(first_day.year, last_day.year + 2) if not working_calendar.is_year_published(y)]
    loaded = calendar_import_library(actor=actor, years=missing, reason=REASON) if missing else []
    working_calendar.invalidate_cache()
    return loaded


# --- Planning the organisation ----------------------------------------------------------------

REQUIRED_BUREAUS = 21  # the bureaus fixtures/categories.json routes to (the first in V.BUREAUS)
REQUIRED_UTILITIES = 3  # U-POWER, U-WATER, U-GAS


def department_counts(total: int) -> dict[str, int]:
    """The real tree's shape scaled to `total`: for 3,000, 1 city government, the centre,
    the supervision office, 40 bureaus, 5 utilities, 12 district governments, 200 street
    offices and 2,740 communities."""
    bureaus = min(len(V.BUREAUS), max(REQUIRED_BUREAUS, round(total * 40 / 3000)))
    utilities = min(len(V.UTILITIES), max(REQUIRED_UTILITIES, round(total * 5 / 3000)))
    rest = total - 3 - bureaus - utilities
    districts = max(2, round(rest * 12 / 2952))
    streets = max(2 * districts, round(rest * 200 / 2952))
    communities = rest - districts - streets
    if communities < streets:
        raise ValueError(f"--departments must be at least {3 + bureaus + utilities + 2 + 4 + 4}.")
    return {"bureau": bureaus, "enterprise": utilities, "district_government": districts,
            "street_office": streets, "community": communities}


def staff_counts(total: int, handling: int) -> dict[str, int]:
    """Centre and city roles by share of the total; one leader per handling department;
    everyone else is department staff (at least one per handling department)."""
    counts = {
        "operator": max(2, round(total * 0.010)), "dispatcher": max(2, round(total * 0.002)),
        "visit_agent": max(1, round(total * 0.0033)), "system_admin": max(1, round(total * 0.0001)),
        "audit_admin": max(1, round(total * 0.00007)), "city_leader": max(1, min(8, round(total * 0.0002))),
        "inspector": max(1, round(total * 0.0007)), "dept_leader": handling,
    }
    counts["dept_staff"] = total - sum(counts.values())
    if counts["dept_staff"] < handling:
        raise ValueError(f"--staff must be at least {sum(counts.values()) + handling} for {handling} departments.")
    return counts


def spread(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split `total` over `weights` (largest remainder), each share at least `minimum`."""
    base = total - minimum * len(weights)
    whole = sum(weights)
    exact = [base * w / whole for w in weights]
    shares = [int(x) for x in exact]
    by_fraction = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_fraction[: base - sum(shares)]:
        shares[i] += 1
    return [s + minimum for s in shares]


def person_name(rng: random.Random) -> str:
    surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
    chars = V.GIVEN_CHARS_F if rng.random() < 0.5 else V.GIVEN_CHARS_M
    given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
    return surname + given


_SURNAMES = [s for s, _w in V.SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(w for _s, w in V.SURNAMES))


def place_name(rng: random.Random, taken: set[str], suffix: str) -> str:
    while True:
        first, second = rng.sample(V.PLACE_CHARS, 2)
        name = f"{first}{second}{suffix}"
        if name not in taken:
            taken.add(name)
            return name


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"


# --- Building the city ------------------------------------------------------------------------


class _CityRows:
    """Rows of the organisation, plus their history rows and action-log entries."""

    def __init__(self, actor, created_at: dt.datetime, log: ActionLog):
        self.actor = actor
        self.actor_ref = (actor.pk, actor.get_username(), actor.role or "")
        self.created_at = created_at
        self.log = log
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self._tick = itertools.count()

    def moment(self) -> dt.datetime:
        return self.created_at + dt.timedelta(milliseconds=next(self._tick))

    def add(self, model, row: dict, *, action: str, repr_: str, changes: dict) -> None:
        self.rows[model].append(row)
        history = HISTORY[model]
        hist = {f.attname: row[f.attname] for f in history._meta.concrete_fields
                if not f.attname.startswith("history_")}
        hist.update(history_date=row.get("created_at", self.created_at), history_change_reason=REASON,
                    history_type="+", history_user_id=self.actor.pk)
        self.rows[history].append(hist)
        target = (f"{model._meta.app_label}.{model._meta.model_name}", row["id"], repr_)
        self.log.add(self.moment(), self.actor_ref, action, target, reason=REASON, changes=changes)


def _created(fields: dict) -> dict:
    """The services' `_diff({}, snapshot)`: every field that is not None, as [None, value]."""
    return {k: [None, v] for k, v in fields.items() if v is not None}


def build_city(rng: random.Random, options: Options, writer: BulkWriter, actor, created_at: dt.datetime) -> None:
    log = ActionLog()
    rows = _CityRows(actor, created_at, log)
    counts = department_counts(options.departments)
    places = _build_areas(rng, counts, rows)
    departments = _build_departments(rng, counts, places, rows)
    _build_staff(rng, options.staff, departments, rows)
    first = [(model, rows.rows.pop(model, [])) for model in (Area, Group, Department, User, User.groups.through)]
    writer.write_batch([*first, *rows.rows.items(), (AuditEvent, log.take_until(None))])


def _area_row(rows: _CityRows, pool: IdPool, code: str, name: str, kind: str, parent: dict | None) -> dict:
    row = {"id": pool.next(), "created_at": rows.created_at, "updated_at": rows.created_at, "code": code,
           "name": name, "kind": kind, "parent_id": parent["id"] if parent else None,
           "path": f"{parent['path'] if parent else '/'}{code}/", "depth": parent["depth"] + 1 if parent else 0}
    rows.add(Area, row, action="area.created", repr_=name, changes=_created(
        {"code": code, "name": name, "kind": kind, "parent_id": row["parent_id"]}))
    return row


def _build_areas(rng: random.Random, counts: dict, rows: _CityRows) -> dict:
    """City → districts → streets (towns) → communities (villages), codes like 5199 01 001 001."""
    pool = IdPool(Area)
    city = _area_row(rows, pool, CITY_AREA_CODE, V.CITY_NAME, "city", None)
    n_districts, n_streets, n_communities = counts["district_government"], counts["street_office"], counts["community"]
    district_names = list(V.DISTRICT_NAMES[:n_districts])
    taken = set(district_names)
    while len(district_names) < n_districts:
        district_names.append(place_name(rng, taken, "区"))
    urban = [name.endswith("区") for name in district_names]
    streets_per = spread(n_streets, [1.5 if u else 1.0 for u in urban], minimum=1)
    districts, streets = [], []
    for i, (name, n) in enumerate(zip(district_names, streets_per, strict=True), start=1):
        district = _area_row(rows, pool, f"{CITY_AREA_CODE}{i:02d}", name, "district", city)
        district["urban"] = urban[i - 1]
        districts.append(district)
        street_taken: set[str] = set()
        for j in range(1, n + 1):
            suffix = "街道" if district["urban"] and rng.random() < 0.8 else rng.choice(["镇", "镇", "乡"])
            street = _area_row(rows, pool, f"{district['code']}{j:03d}", place_name(rng, street_taken, suffix),
                               "street", district)
            street["urban"] = suffix == "街道"
            streets.append(street)
    communities = []
    sizes = spread(n_communities, [1.3 if s["urban"] else 1.0 for s in streets], minimum=1)
    for street, n in zip(streets, sizes, strict=True):
        community_taken: set[str] = set()
        for k in range(1, n + 1):
            suffix = "社区" if street["urban"] or rng.random() < 0.3 else "村"
            communities.append(_area_row(rows, pool, f"{street['code']}{k:03d}",
                                         place_name(rng, community_taken, suffix), "community", street))
    for row in districts + streets:
        row.pop("urban")
    return {"city": city, "districts": districts, "streets": streets, "communities": communities}


def _department_row(rng, rows: _CityRows, pools: dict, code: str, name: str, short: str, kind: str,
                    parent: dict | None, area: dict) -> dict:
    group = {"id": pools[Group].next(), "name": f"dept:{code}"}
    rows.rows[Group].append(group)
    row = {"id": pools[Department].next(), "created_at": rows.created_at, "updated_at": rows.created_at,
           "code": code, "name": name, "short_name": short, "kind": kind,
           "parent_id": parent["id"] if parent else None, "area_id": area["id"], "group_id": group["id"],
           "phone": f"{V.PHONE_AREA_CODE}-{rng.randint(2100000, 2999999)}", "is_active": True,
           "path": f"{parent['path'] if parent else '/'}{code}/", "depth": parent["depth"] + 1 if parent else 0}
    rows.add(Department, row, action="department.created", repr_=name, changes=_created({
        "code": code, "name": name, "short_name": short, "kind": kind, "parent_id": row["parent_id"],
        "area_id": row["area_id"], "phone": row["phone"], "is_active": True}))
    return row


def _build_departments(rng: random.Random, counts: dict, places: dict, rows: _CityRows) -> list[dict]:
    pools = {Department: IdPool(Department), Group: IdPool(Group)}
    city_area = places["city"]
    fmt = {"city": V.CITY_NAME, "short": V.CITY_SHORT}

    def make(code, name, short, kind, parent, area):
        return _department_row(rng, rows, pools, f"{CODE_PREFIX}{code}", name, short, kind, parent, area)

    gov = make("GOV", f"{V.CITY_NAME}人民政府", "市政府", "city_government", None, city_area)
    made = [gov,
            make("CENTRE", f"{V.CITY_NAME}12345心连心服务中心", "12345中心", "service_centre", gov, city_area),
            make("SUPERVISION", f"{V.CITY_NAME}人民政府督查室", "市政府督查室", "supervision", gov, city_area)]
    for code, name, short in V.BUREAUS[: counts["bureau"]]:
        made.append(make(code, name.format(**fmt), short.format(**fmt), "bureau", gov, city_area))
    for code, name, short in V.UTILITIES[: counts["enterprise"]]:
        made.append(make(code, name.format(**fmt), short.format(**fmt), "enterprise", gov, city_area))
    by_area = {}
    for i, district in enumerate(places["districts"], start=1):
        name = district["name"]
        full = f"{V.CITY_NAME}{name}人民政府" if name.endswith("区") else f"{name}人民政府"
        by_area[district["id"]] = make(f"D{i:02d}", full, f"{name}政府", "district_government", gov, district)
    for street in places["streets"]:
        district = next(d for d in places["districts"] if d["id"] == street["parent_id"])
        parent = by_area[district["id"]]
        office = "办事处" if street["name"].endswith("街道") else "人民政府"
        by_area[street["id"]] = make(f"S{street['code'][len(CITY_AREA_CODE):]}",
                                     f"{district['name']}{street['name']}{office}", street["name"],
                                     "street_office", parent, street)
    for community in places["communities"]:
        parent = by_area[community["parent_id"]]
        committee = "居民委员会" if community["name"].endswith("社区") else "村民委员会"
        street_name = parent["short_name"]
        made.append(make(f"C{community['code'][len(CITY_AREA_CODE):]}", f"{street_name}{community['name']}{committee}",
                         community["name"], "community", parent, community))
    made.extend(by_area.values())
    return made


def _build_staff(rng: random.Random, total: int, departments: list[dict], rows: _CityRows) -> None:
    by_kind = defaultdict(list)
    for dept in departments:
        by_kind[dept["kind"]].append(dept)
    handling = [d for d in departments if d["kind"] in HANDLING_KINDS]
    counts = staff_counts(total, len(handling))
    role_groups = _role_group_ids()
    pool = IdPool(User)
    serial = defaultdict(itertools.count)
    centre, gov, supervision = by_kind["service_centre"][0], by_kind["city_government"][0], by_kind["supervision"][0]

    def hire(role: str, dept: dict) -> None:
        username = f"g_{ROLE_PREFIX[role]}{next(serial[role]) + 1:05d}"
        name = person_name(rng)
        row = {"id": pool.next(), "password": "!" + "".join(rng.choices(string.ascii_letters + string.digits, k=40)),
               "last_login": None, "is_superuser": False, "username": username, "first_name": "", "last_name": "",
               "email": "", "is_staff": True, "is_active": True, "date_joined": rows.created_at, "name": name,
               "password_changed_at": rows.created_at, "department_id": dept["id"], "role": role,
               "phone": mobile(rng), "is_service_account": False}
        rows.add(User, row, action="staff.created", repr_=f"{name} ({username})", changes=_created({
            "username": username, "name": name, "email": "", "phone": row["phone"], "department_id": dept["id"],
            "role": role, "is_active": True}))
        through = rows.rows[User.groups.through]
        through.append({"user_id": row["id"], "group_id": role_groups[role]})
        through.append({"user_id": row["id"], "group_id": dept["group_id"]})

    for role, home in (("operator", centre), ("dispatcher", centre), ("visit_agent", centre),
                       ("system_admin", centre), ("audit_admin", supervision), ("city_leader", gov),
                       ("inspector", supervision)):
        for _i in range(counts[role]):
            hire(role, home)
    sizes = spread(counts["dept_staff"], [STAFF_WEIGHT[d["kind"]] for d in handling], minimum=1)
    for dept, size in zip(handling, sizes, strict=True):
        hire("dept_leader", dept)
        for _i in range(size):
            hire("dept_staff", dept)


def _role_group_ids() -> dict[str, int]:
    wanted = {role: roles.group_name(role) for role in User.Role.values}
    found = dict(Group.objects.filter(name__in=wanted.values()).values_list("name", "id"))
    if len(found) < len(wanted):
        roles.sync_role_groups()
        found = dict(Group.objects.filter(name__in=wanted.values()).values_list("name", "id"))
    return {role: found[name] for role, name in wanted.items()}


# --- The city as the appeals phase sees it ----------------------------------------------------


class Staff:
    __slots__ = ("id", "username", "role", "department_id", "name", "actor")

    def __init__(self, id, username, role, department_id, name):
        self.id, self.username, self.role, self.department_id, self.name = id, username, role, department_id, name
        self.actor = (id, username, role)


class Dept:
    __slots__ = ("id", "code", "name", "short_name", "kind", "area_id", "group_id")

    def __init__(self, id, code, name, short_name, kind, area_id, group_id):
        self.id, self.code, self.name, self.short_name = id, code, name, short_name
        self.kind, self.area_id, self.group_id = kind, area_id, group_id


class Place:
    __slots__ = ("id", "code", "name", "kind", "district", "street", "community", "street_office",
                 "district_gov", "committee", "urban")

    def __init__(self, id, code, name, kind):
        self.id, self.code, self.name, self.kind = id, code, name, kind
        self.district = self.street = self.community = None
        self.street_office = self.district_gov = self.committee = None
        self.urban = False


@dataclasses.dataclass
class City:
    root: Place
    places: list[Place]
    departments: dict[str, Dept]
    handlers: dict[int, list[Staff]]  # department id -> staff and leaders
    operators: list[Staff]
    dispatchers: list[Staff]


def load_city() -> City | None:
    """The generated city as stored (ordered by code and id, so a seed replays the same way)."""
    area_rows = list(Area.objects.filter(code__startswith=CODE_PREFIX).order_by("path")
                     .values_list("id", "code", "name", "kind", "parent_id"))
    if not area_rows:
        return None
    places, by_id = [], {}
    for id_, code, name, kind, parent_id in area_rows:
        place = Place(id_, code, name, kind)
        parent = by_id.get(parent_id)
        place.district = place if kind == "district" else (parent.district if parent else None)
        place.street = place if kind == "street" else (parent.street if parent else None)
        place.community = place if kind == "community" else None
        place.urban = (place.district.name.endswith("区") if place.district else True)
        by_id[id_] = place
        places.append(place)
    departments = {}
    for row in Department.objects.filter(code__startswith=CODE_PREFIX).order_by("path").values_list(
            "id", "code", "name", "short_name", "kind", "area_id", "group_id"):
        dept = Dept(*row)
        departments[dept.code] = dept
        area = by_id.get(dept.area_id)
        if dept.kind == "street_office" and area:
            area.street_office = dept
        elif dept.kind == "district_government" and area:
            area.district_gov = dept
        elif dept.kind == "community" and area:
            area.committee = dept
    for place in places:
        if place.street is not None and place is not place.street:
            place.street_office = place.street.street_office
        if place.district is not None and place is not place.district:
            place.district_gov = place.district.district_gov
    dept_ids = {d.id for d in departments.values()}
    handlers, operators, dispatchers = defaultdict(list), [], []
    for row in User.objects.filter(department_id__in=dept_ids, is_active=True).order_by("id").values_list(
            "id", "username", "role", "department_id", "name"):
        staff = Staff(*row)
        if staff.role in ("dept_staff", "dept_leader"):
            handlers[staff.department_id].append(staff)
        elif staff.role == "operator":
            operators.append(staff)
        elif staff.role == "dispatcher":
            dispatchers.append(staff)
    return City(by_id[area_rows[0][0]], places, departments, dict(handlers), operators, dispatchers)


# --- Catalogue --------------------------------------------------------------------------------


@dataclasses.dataclass
class Leaf:
    category: Category
    lead: Dept | None  # None: the street office of the appeal's area (属地)
    rule_text: str  # str(rule): what dispatch notes quote
    weight: float

    @property
    def code(self) -> str:
        return self.category.code

    @property
    def name(self) -> str:
        return self.category.name


def ensure_catalogue(city: City, actor) -> list[Leaf]:
    """Categories from fixtures/categories.json (created if missing) and, for the generated
    city, one active rule per leaf: its area is the city, so it is more specific than a
    city-wide rule of the demo catalogue and routes to the generated bureaus."""
    rows = json.loads((Path(settings.BASE_DIR) / "fixtures" / "categories.json").read_text(encoding="utf-8"))
    root = Area.objects.get(pk=city.root.id)
    with transaction.atomic():
        known = {c.code: c for c in Category.objects.all()}
        for row in rows:
            if row["code"] not in known:
                known[row["code"]] = catalog.category_save(
                    actor=actor, code=row["code"], name=row["name"],
                    parent=known[row["parent"]] if row.get("parent") else None, reason=CATALOGUE_REASON)
        existing = {r.category_id: r for r in DispatchRule.objects.filter(area=root, is_active=True)}
        departments = {d.code: d for d in Department.objects.filter(code__startswith=CODE_PREFIX)}
        leaves = []
        for row in rows:
            lead_code = row.get("lead_department")
            category = Category.objects.get(pk=known[row["code"]].pk)
            if not lead_code or not category.is_leaf or not category.is_active:
                continue
            to_street = lead_code == "@street"
            lead = None if to_street else departments[f"{CODE_PREFIX}{lead_code}"]
            rule = existing.get(category.pk) or catalog.dispatch_rule_save(
                actor=actor, category=category, area=root, lead_department=lead, route_to_local_street=to_street,
                reason=CATALOGUE_REASON)
            rule_lead = city.departments.get(rule.lead_department.code) if rule.lead_department_id else None
            leaves.append(Leaf(category, rule_lead, f"{category.full_name} @ {root.name}",
                               V.HOT_SPOTS.get(category.code, 1)))
    return leaves


# --- The period: how many appeals when --------------------------------------------------------


def daily_volumes(rng: random.Random, total: int, first_day: dt.date, until: dt.datetime) -> list[tuple]:
    """(day, count) for each local day: weekday/weekend and holiday shape, a summer peak,
    growth over the period, day-to-day noise; counts add up to `total` exactly."""
    last = timezone.localtime(until)
    days, weights = [], []
    n_days = (last.date() - first_day).days + 1
    for i in range(n_days):
        day = first_day + dt.timedelta(days=i)
        weekend, working = day.weekday() >= 5, working_calendar.is_working_day(day)
        if weekend and working:
            base = 0.95  # a make-up working day (调休)
        elif not weekend and not working:
            base = WEEKDAY_VOLUME[day.weekday()] * 0.5  # a public holiday
        else:
            base = WEEKDAY_VOLUME[day.weekday()]
        growth = 0.75 + 0.5 * i / max(n_days - 1, 1)
        season = {7: 1.12, 8: 1.12, 1: 0.92, 2: 0.92}.get(day.month, 1.0)
        weight = base * growth * season * rng.lognormvariate(0, 0.08)
        if day == last.date():
            hours = last.hour + last.minute / 60
            weight *= sum(HOURLY_VOLUME[: int(hours)]) / sum(HOURLY_VOLUME) if hours >= 1 else 0.0
        days.append(day)
        weights.append(weight)
    return list(zip(days, spread(total, weights), strict=True))


def day_times(rng: random.Random, day: dt.date, count: int, until: dt.datetime, tz) -> list[dt.datetime]:
    """`count` sorted receipt times in a local day, shaped by the hour of day, before `until`."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
    limit = (until - start).total_seconds()
    hours = range(24)
    if limit < 86400:
        hours = range(max(1, min(24, int(limit // 3600))))
    cum = list(itertools.accumulate(HOURLY_VOLUME[h] for h in hours))
    seconds = []
    for _i in range(count):
        hour = rng.choices(hours, cum_weights=cum)[0]
        seconds.append(min(hour * 3600 + rng.random() * 3600, limit - 1e-3))
    seconds.sort()
    start_utc = start.astimezone(UTC)
    return [start_utc + dt.timedelta(seconds=s) for s in seconds]


def _weighted_picker(pairs):
    values = [p[0] for p in pairs]
    cum = list(itertools.accumulate(p[1] for p in pairs))
    top = cum[-1]

    def pick(rng: random.Random):
        return values[bisect.bisect_right(cum, rng.random() * top)]

    return pick


# --- Appeals ----------------------------------------------------------------------------------


class AppealMaker:
    """Makes appeals one by one in time order and collects their rows batch by batch."""

    def __init__(self, *, options: Options, city: City, leaves: list[Leaf], actor, writer: BulkWriter,
                 until: dt.datetime, first_day: dt.date):
        self.options = options
        self.city = city
        self.writer = writer
        self.now = until
        self.first_day = first_day
        self.tz = timezone.get_current_timezone()
        self.rng = random.Random(f"{options.seed}:appeals")
        self.deadlines = lifecycle.Deadlines()
        self.system = (actor.pk, actor.get_username(), actor.role or "")
        self.log = ActionLog()
        self.ids = {Appeal: IdPool(Appeal, block=options.batch), Task: IdPool(Task, block=options.batch),
                    Reminder: IdPool(Reminder, block=max(1000, options.batch // 20))}
        self.view_task = Permission.objects.get(content_type__app_label="tasks", codename="view_task").pk
        self.pick_channel = _weighted_picker(CHANNELS)
        self.pick_type = _weighted_picker(TYPES)
        self.pick_priority = _weighted_picker(PRIORITIES)
        self.pick_leaf = _weighted_picker([(leaf, leaf.weight) for leaf in leaves])
        self.pick_place = _weighted_picker(self._place_weights())
        self.bureaus = [d for d in city.departments.values() if d.kind in ("bureau", "enterprise")]
        self.counters = dict(TrackingCounter.objects.filter(day__gte=first_day).values_list("day", "value"))
        self.callers = [mobile(self.rng) for _i in range(max(20, options.appeals // 25))]
        self.pick_caller = _weighted_picker([(p, 1 / (i + 1) ** 0.8) for i, p in enumerate(self.callers)])
        self.recent_by_phone: dict[str, tuple] = {}
        self.recent_by_issue: dict[tuple, tuple] = {}
        self.spots: dict[int, tuple] = {}
        self.seen_states: set[str] = set()
        self.made = 0
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self.tasks_by_status: dict[str, int] = defaultdict(int)
        self.appeals_by_status: dict[str, int] = defaultdict(int)
        self.hist_appeal = _history_fields(Appeal)
        self.hist_task = _history_fields(Task)
        self.rule_notes: dict[str, str] = {}
        self.day_prefix: dict[dt.date, str] = {}
        self.blank_appeal = blank_row(Appeal)
        self.blank_task = blank_row(Task)
        self.reasons = {
            "received": _("appeal received"), "answered": _("answered directly"), "dispatched": _("dispatched"),
            "signed": _("signed for"), "contacted": _("citizen contacted"), "replied": _("replied"),
            "accepted": _("reply accepted"), "reviewed": _("all replies accepted"), "sweep": _("time-limit sweep"),
            "reminder": _("reminder issued by the time-limit sweep"),
        }

    def _place_weights(self) -> list[tuple]:
        """Most appeals name a community, some only a street or a district; urban areas are busier."""
        share = {"community": 75.0, "street": 20.0, "district": 5.0}
        per_kind = defaultdict(int)
        for place in self.city.places:
            per_kind[place.kind] += 1
        return [(place, share[place.kind] / per_kind[place.kind] * (1.6 if place.urban else 1.0))
                for place in self.city.places if place.kind in share]

    # --- the loop ---------------------------------------------------------------------------

    def run(self, progress: Progress, *, skip_fk_triggers: bool = False) -> bool:
        """Make and write every appeal; True if foreign keys still need checking."""
        total = self.options.appeals
        if not total:
            return False
        volumes = daily_volumes(self.rng, total, self.first_day, self.now)
        background = self.writer.start_background(skip_fk_triggers=skip_fk_triggers)
        started = time.perf_counter()
        in_batch = 0
        last_moment = None
        # Millions of long-lived rows and index entries, no reference cycles: the cyclic
        # collector would only re-scan them again and again.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for day, count in volumes:
                for moment in day_times(self.rng, day, count, self.now, self.tz):
                    self.make_appeal(moment, day)
                    last_moment = moment
                    in_batch += 1
                    if in_batch >= self.options.batch:
                        self.flush(last_moment)
                        in_batch = 0
                        rate = self.made / (time.perf_counter() - started)
                        blocked = self.writer.blocked_seconds
                        progress.line(f"appeals {self.made:,}/{total:,} ({rate:,.0f}/s, eta "
                                      f"{(total - self.made) / rate:,.0f}s, waited for the server {blocked:,.0f}s)")
            self.flush(None)
        except BaseException:
            self.writer.abort_background()
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
        waited, skipped = self.writer.finish_background()
        if background:
            progress.line(f"waited {self.writer.blocked_seconds:,.1f}s for the writer while generating, "
                          f"{waited:,.1f}s for the last batches")
        self.write_counters()
        progress.line(f"appeals {self.made:,}/{total:,}; appeal status {dict(sorted(self.appeals_by_status.items()))}"
                      f"; work orders {dict(sorted(self.tasks_by_status.items()))}")
        return skipped

    def flush(self, moment: dt.datetime | None) -> None:
        """Write the batch in one transaction, with the action-log entries up to `moment`
        (all of them at the end)."""
        batch = [(model, self.rows.pop(model, [])) for model in (
            Appeal, Task, TaskGroupObjectPermission, Reminder, HISTORY[Appeal], HISTORY[Task], HISTORY[Reminder])]
        batch.append((AuditEvent, self.log.take_until(moment)))
        self.writer.write_batch(batch)
        self.rows = defaultdict(list)

    def write_counters(self) -> None:
        """Real intake continues each day's sequence after the generated numbers."""
        TrackingCounter.objects.bulk_create(
            [TrackingCounter(day=day, value=value) for day, value in sorted(self.counters.items())],
            update_conflicts=True, unique_fields=["day"], update_fields=["value"], batch_size=500)

    # --- one appeal -------------------------------------------------------------------------

    def make_appeal(self, received_at: dt.datetime, day: dt.date) -> None:
        rng = self.rng
        channel, appeal_type, priority = self.pick_channel(rng), self.pick_type(rng), self.pick_priority(rng)
        leaf, place = self.pick_leaf(rng), self.pick_place(rng)
        name, phone, anonymous = self._citizen(rng, channel)
        confidential = rng.random() < {"report": 0.3, "complaint": 0.05}.get(appeal_type, 0.01)
        address, spot = self._address(place)
        lead, explanation = self._route(leaf, place)
        content = self._content(channel, appeal_type, leaf, place, spot, lead)
        operator = rng.choice(self.city.operators)
        urgent = priority == "P0"  # a major emergency goes to the city government at intake
        appeal = {
            **self.blank_appeal, "is_escalated": urgent, "escalated_at": received_at if urgent else None,
            "id": self.ids[Appeal].next(), "created_at": received_at, "updated_at": received_at,
            "tracking_number": self._tracking_number(day), "channel": channel, "appeal_type": appeal_type,
            "category_id": leaf.category.pk, "area_id": place.id, "address": address, "content": content,
            "citizen_name": name, "citizen_phone": phone, "is_anonymous": anonymous, "is_confidential": confidential,
            "citizen_phone_index": blind_index("phone", phone),  # once; the history rows copy it
            "priority": priority, "status": "received", "received_at": received_at, "received_by_id": operator.id,
            "answer": "", "reject_route": "", "reject_reason": "", "merged_into_id": None, "concluded_at": None,
            "concluded_by_id": None, "closed_at": None, "version": 1, "search_text": index_text(content, address),
        }
        target = ("appeals.appeal", appeal["id"], appeal["tracking_number"])
        self.log.add(received_at, operator.actor, "appeal.received", target, changes={
            "channel": channel, "appeal_type": appeal_type, "category": leaf.code, "area": place.code,
            "priority": priority, "phone": mask_phone(phone)})
        self._history(Appeal, self.hist_appeal, appeal, received_at, self.reasons["received"], "+", operator.id)
        final = self._conclude(appeal, target, leaf, place, lead, explanation, operator)
        if final["version"] > 1:
            reason, by = final.pop("_reason"), final.pop("_by")
            self._history(Appeal, self.hist_appeal, final, final["updated_at"], reason, "~", by)
        self.rows[Appeal].append(final)
        self.appeals_by_status[final["status"]] += 1
        self._remember(final, leaf, place)
        self.made += 1

    def _conclude(self, appeal: dict, target: tuple, leaf: Leaf, place: Place, lead: Dept, explanation: str,
                  operator: Staff) -> dict:
        """Answer, reject, merge or dispatch, as the intake services would; nothing if that
        moment is still to come."""
        rng = self.rng
        answered, rejected, merged = OUTCOMES.get(appeal["appeal_type"], OUTCOME_OTHERS)
        roll = rng.random()
        received_at = appeal["received_at"]
        if appeal["priority"] in ("P0", "P1"):
            roll = 1.0  # urgent matters are always dispatched
        if roll < answered:
            at = received_at + dt.timedelta(seconds=rng.uniform(120, 720))
            if at > self.now:
                return appeal
            return self._answer(appeal, target, operator, at)
        if roll < answered + rejected:
            at = received_at + dt.timedelta(seconds=rng.uniform(120, 900))
            if at > self.now:
                return appeal
            return self._reject(appeal, target, operator, at)
        if roll < answered + rejected + merged:
            into = self._merge_target(appeal, leaf, place)
            at = received_at + dt.timedelta(seconds=rng.uniform(300, 2400))
            if into is not None:
                if at > self.now:
                    return appeal
                return self._merge(appeal, target, operator, into, at)
        urgent = appeal["priority"] in ("P0", "P1")
        delay = rng.uniform(120, 600) if urgent else min(6 * 3600, max(120, rng.lognormvariate(6.6, 0.7)))
        at = received_at + dt.timedelta(seconds=delay)
        if at > self.now:
            return appeal
        return self._dispatch(appeal, target, leaf, place, lead, explanation, at)

    def _concluded(self, appeal: dict, status: str, at: dt.datetime, by: Staff, reason: str, **fields) -> dict:
        return {**appeal, **fields, "status": status, "concluded_at": at, "concluded_by_id": by.id,
                "updated_at": at, "version": 2, "_reason": reason, "_by": by.id}

    def _answer(self, appeal, target, operator, at) -> dict:
        self.log.add(at, operator.actor, "appeal.answered", target, changes={"status": ["received", "answered"]})
        return self._concluded(appeal, "answered", at, operator, self.reasons["answered"],
                               answer=self.rng.choice(V.DIRECT_ANSWERS))

    def _reject(self, appeal, target, operator, at) -> dict:
        route = self.rng.choices(list(V.REJECT_ROUTE_WEIGHTS), weights=list(V.REJECT_ROUTE_WEIGHTS.values()))[0]
        reason = V.REJECTIONS[route]
        self.log.add(at, operator.actor, "appeal.rejected", target, reason=reason,
                     changes={"status": ["received", "rejected"], "route": route})
        return self._concluded(appeal, "rejected", at, operator, reason, reject_route=route, reject_reason=reason)

    def _merge(self, appeal, target, operator, into: tuple, at) -> dict:
        into_id, into_number = into[0], into[1]
        reason = V.MERGE_REASON.format(number=into_number)
        self.log.add(at, operator.actor, "appeal.merged", target, reason=reason,
                     changes={"status": ["received", "merged"], "merged_into": into_number})
        return self._concluded(appeal, "merged", at, operator, reason, merged_into_id=into_id)

    def _merge_target(self, appeal: dict, leaf: Leaf, place: Place) -> tuple | None:
        """An earlier appeal within 30 days from the same caller, or about the same matter in
        the same street (what appeals.selectors.appeal_likely_duplicates suggests)."""
        since = appeal["received_at"] - dt.timedelta(days=30)
        for candidate in (self.recent_by_phone.get(appeal["citizen_phone"]),
                          self.recent_by_issue.get((leaf.code, (place.street or place).id))):
            if candidate is not None and candidate[2] >= since:
                return candidate
        return None

    def _remember(self, final: dict, leaf: Leaf, place: Place) -> None:
        if final["status"] in ("merged", "rejected"):
            return
        ref = (final["id"], final["tracking_number"], final["received_at"])
        if final["citizen_phone"]:
            self.recent_by_phone[final["citizen_phone"]] = ref
        self.recent_by_issue[(leaf.code, (place.street or place).id)] = ref

    # --- dispatch and work orders -----------------------------------------------------------

    def _route(self, leaf: Leaf, place: Place) -> tuple[Dept, str]:
        """appeals.selectors.dispatch_suggestion for the generated catalogue."""
        if leaf.lead is not None:
            return leaf.lead, leaf.rule_text
        if place.street_office is not None:
            return place.street_office, leaf.rule_text
        return place.district_gov, "兜底: district government of the area"

    def _co_departments(self, place: Place, lead: Dept) -> list[Dept]:
        rng = self.rng
        candidates = [(place.street_office, 35), (place.district_gov, 25), (place.committee, 25),
                      (rng.choice(self.bureaus), 15)]
        candidates = [(d, w) for d, w in candidates if d is not None and d.id != lead.id]
        chosen = []
        for _i in range(1 if rng.random() < 0.85 else 2):
            pool = [(d, w) for d, w in candidates if d not in chosen]
            if pool:
                chosen.append(rng.choices([d for d, _w in pool], weights=[w for _d, w in pool])[0])
        return chosen

    def _dispatch(self, appeal, target, leaf, place, lead: Dept, explanation: str, at: dt.datetime) -> dict:
        """tasks.services.appeal_dispatch: the appeal is marked dispatched, then the lead and
        co-handling work orders are created and the lead shared with the co departments."""
        rng = self.rng
        dispatcher = rng.choice(self.city.dispatchers)
        co = self._co_departments(place, lead) if rng.random() < CO_HANDLING else []
        override = rng.choice(V.CO_REASONS).format(dept="、".join(d.short_name or d.name for d in co)) if co else ""
        note = override or self._rule_note(explanation)
        ctx = _Dispatch(appeal=appeal, leaf=leaf, place=place, dispatcher=dispatcher, note=note)
        moment = at + dt.timedelta(milliseconds=2)
        lead_out = self._work_order(ctx, lead, "lead", moment, dispatcher, note, returnable=True)
        outcomes = [lead_out]
        for i, dept in enumerate(co, start=1):
            outcomes.append(self._work_order(ctx, dept, "co", moment + dt.timedelta(milliseconds=2 * i), dispatcher,
                                             note, returnable=False))
            self.rows[TaskGroupObjectPermission].append(
                {"permission_id": self.view_task, "group_id": dept.group_id, "content_object_id": lead_out.first_id})
        self.log.add(at + dt.timedelta(milliseconds=3 + 2 * len(co)), dispatcher.actor, "appeal.dispatched", target,
                     reason=override, changes={"lead": lead.code, "co": [d.code for d in co],
                                               "follows_rule": not co, "suggested": lead.code})
        final = self._concluded(appeal, "dispatched", at, dispatcher, self.reasons["dispatched"])
        if all(o.accepted_at is not None for o in outcomes):
            last = max(outcomes, key=lambda o: o.accepted_at)
            reviewed_at = last.accepted_at + dt.timedelta(milliseconds=5)
            self.log.add(reviewed_at, last.accepted_by.actor, "appeal.reviewed", target,
                         reason=self.reasons["reviewed"], changes={"status": ["dispatched", "reviewed"]})
            final.update(status="reviewed", updated_at=reviewed_at, version=3, _reason=self.reasons["reviewed"],
                         _by=last.accepted_by.id)
        return final

    def _rule_note(self, explanation: str) -> str:
        note = self.rule_notes.get(explanation)
        if note is None:
            note = self.rule_notes[explanation] = _("by dispatch rule: %(rule)s") % {"rule": explanation}
        return note

    def _wanted_state(self, ctx: _Dispatch, dispatched_at: dt.datetime, role: str, dept: Dept) -> str | None:
        """Small runs still get work orders in every state: the first recent dispatch that
        can stand in a state not seen yet is drawn to stand in it now."""
        if role != "lead" or dispatched_at > self.now - dt.timedelta(hours=2):
            return None
        if dispatched_at < self.now - dt.timedelta(days=3):
            if "returned" not in self.seen_states and self.made * 2 > self.options.appeals:
                return "returned" if self._can_return(dept, ctx.place) else None
            return None
        for state in OPEN_STATES:
            if state not in self.seen_states and (state != "return_requested" or self._can_return(dept, ctx.place)):
                return state
        return None

    def _can_return(self, dept: Dept, place: Place) -> bool:
        return self._reassign_to(dept, place) is not None

    def _reassign_to(self, dept: Dept, place: Place) -> Dept | None:
        """Returned work orders go to the area's district government (兜底), or its street office."""
        for candidate in (place.district_gov, place.street_office):
            if candidate is not None and candidate.id != dept.id:
                return candidate
        return None

    def _work_order(self, ctx: _Dispatch, dept: Dept, role: str, dispatched_at: dt.datetime, dispatcher: Staff,
                    note: str, *, returnable: bool, task_id: int | None = None) -> _Outcome:
        rng = self.rng
        appeal = ctx.appeal
        handler = rng.choice(self.city.handlers[dept.id])
        limits = self.deadlines.limits(priority=appeal["priority"], appeal_type=appeal["appeal_type"],
                                       category=ctx.leaf.category)
        dues = self.deadlines.due_times(dispatched_at, limits)
        wanted = self._wanted_state(ctx, dispatched_at, role, dept)
        is_return = returnable and self._can_return(dept, ctx.place) and (
            wanted == "returned" or (wanted is None and rng.random() < RETURNED))
        life = lifecycle.plan_life(rng, dispatched_at=dispatched_at, dues=dues, priority=appeal["priority"],
                                   handler=handler, dispatchers=self.city.dispatchers,
                                   is_unreachable=appeal["is_anonymous"] and not appeal["citizen_phone"],
                                   is_return=is_return,
                                   deadlines=self.deadlines)
        if wanted in OPEN_STATES:
            life = lifecycle.force_state(rng, life, wanted, self.now, self.city.dispatchers)
        seen = life.at(self.now)
        task_id = task_id or self.ids[Task].next()
        handover = None
        if seen.return_decided_at is not None:
            reassign = self._reassign_to(dept, ctx.place)
            comment = rng.choice(V.RETURN_DECISIONS).format(dept=reassign.short_name or reassign.name)
            handover = _Handover(reassign, comment, self.ids[Task].next())
        status = self._task_rows(ctx, task_id, dept, role, dispatcher, note, seen, handover)["status"]
        self.seen_states.add(status)
        self.tasks_by_status[status] += 1
        if handover is not None:
            new_note = _("reassigned after return: %(comment)s") % {"comment": handover.comment}
            outcome = self._work_order(ctx, handover.department, role,
                                       seen.return_decided_at + dt.timedelta(milliseconds=3), seen.return_decided_by,
                                       new_note, returnable=False, task_id=handover.task_id)
            # The co departments' grant stays on the task the dispatch created.
            return dataclasses.replace(outcome, first_id=task_id)
        return _Outcome(task_id, seen.accepted_at, seen.accepted_by if seen.accepted_at else None)

    def _task_rows(self, ctx: _Dispatch, task_id: int, dept: Dept, role: str, dispatcher: Staff, note: str,
                   seen: lifecycle.Life, handover: _Handover | None) -> dict:
        """The work order as created (history "+"), as it stands now (row and history "~"),
        its action-log entries, and the sweep's marks and reminders."""
        appeal = ctx.appeal
        t0 = seen.dispatched_at
        target = ("tasks.task", task_id, f"{appeal['tracking_number']} · {dept.name}")
        created = {
            **self.blank_task, "id": task_id, "created_at": t0, "updated_at": t0, "appeal_id": appeal["id"],
            "department_id": dept.id, "role": role, "status": "pending_sign", "dispatched_at": t0,
            "dispatched_by_id": dispatcher.id,
            "dispatch_note": note, "sign_due_at": seen.sign_due, "contact_due_at": seen.contact_due,
            "resolve_due_at": seen.resolve_due, "next_due_at": None, "sweep_due_at": None, "signed_at": None,
            "signed_by_id": None, "contacted_at": None, "contact_method": "", "contact_note": "",
            "contacted_by_id": None, "replied_at": None, "replied_by_id": None, "result": "", "reply_text": "",
            "policy_basis": "", "reviewed_at": None, "reviewed_by_id": None, "review_comment": "",
            "sent_back_count": 0, "return_reason": "", "return_requested_at": None, "return_requested_by_id": None,
            "return_decided_at": None, "return_decided_by_id": None, "return_decision_comment": "",
            "replaced_by_id": None, "sign_overdue_at": None, "contact_overdue_at": None, "resolve_overdue_at": None,
            "closed_at": None, "version": 1,
        }
        _refresh(created, set())
        self.log.add(t0, dispatcher.actor, "task.dispatched", target, reason=note, changes={
            "department": dept.code, "role": role, "sign_due_at": json_time(seen.sign_due),
            "contact_due_at": json_time(seen.contact_due), "resolve_due_at": json_time(seen.resolve_due)})
        self._history(Task, self.hist_task, created, t0, note or self.reasons["dispatched"], "+", dispatcher.id)
        task = dict(created)
        steps = self._steps(ctx, task, target, seen, handover)
        marks = lifecycle.sweep_marks(seen, self.deadlines, self.now)
        for mark in marks:
            steps.extend(self._sweep_rows(task, target, dept, mark))
        task["status"] = seen.status
        _refresh(task, {m.kind for m in marks if m.reminded_at is not None})
        if steps:
            at, reason, by = max(steps, key=lambda s: s[0])
            task["updated_at"] = at
            self._history(Task, self.hist_task, task, at, reason, "~", by)
        self.rows[Task].append(task)
        return task

    def _steps(self, ctx: _Dispatch, task: dict, target: tuple, seen: lifecycle.Life,
               handover: _Handover | None) -> list[tuple]:
        """Fill in what the department and the centre did, write their action-log entries;
        return (time, history reason, user id) per step."""
        rng, log, reasons = self.rng, self.log, self.reasons
        handler = seen.handler
        steps = []
        if seen.signed_at:
            task.update(signed_at=seen.signed_at, signed_by_id=handler.id)
            log.add(seen.signed_at, handler.actor, "task.signed", target,
                    changes={"status": ["pending_sign", "in_progress"]})
            steps.append((seen.signed_at, reasons["signed"], handler.id))
        if seen.return_requested_at:
            reason = rng.choice(V.RETURN_REASONS)
            task.update(return_reason=reason, return_requested_at=seen.return_requested_at,
                        return_requested_by_id=handler.id)
            before = "in_progress" if seen.signed_at else "pending_sign"
            log.add(seen.return_requested_at, handler.actor, "task.return_requested", target, reason=reason,
                    changes={"status": [before, "return_requested"]})
            steps.append((seen.return_requested_at, reason, handler.id))
            if handover is not None:
                self._return_approved(task, target, seen, handover, steps)
            task["version"] = 1 + len(steps)
            return steps
        if seen.contacted_at:
            method = seen.contact_method
            task.update(contacted_at=seen.contacted_at, contact_method=method,
                        contact_note=rng.choice(V.CONTACT_NOTES[method]), contacted_by_id=handler.id)
            log.add(seen.contacted_at, handler.actor, "task.contacted", target, changes={
                "method": method, "contacted_at": json_time(seen.contacted_at.astimezone(self.tz))})
            steps.append((seen.contacted_at, reasons["contacted"], handler.id))
        if seen.replied_at:
            self._reply(ctx, task, target, seen, seen.replied_at, steps)
        if seen.sent_back_at:
            comment = rng.choice(V.SEND_BACK_COMMENTS)
            by = seen.sent_back_by
            task.update(status="in_progress", reviewed_at=seen.sent_back_at, reviewed_by_id=by.id,
                        review_comment=comment, sent_back_count=1)
            log.add(seen.sent_back_at, by.actor, "task.reply_sent_back", target, reason=comment,
                    changes={"status": ["replied", "in_progress"]})
            steps.append((seen.sent_back_at, comment, by.id))
        if seen.replied_again_at:
            self._reply(ctx, task, target, seen, seen.replied_again_at, steps)
        if seen.accepted_at:
            comment = rng.choice(V.ACCEPT_COMMENTS)
            by = seen.accepted_by
            task.update(reviewed_at=seen.accepted_at, reviewed_by_id=by.id, review_comment=comment,
                        closed_at=seen.accepted_at)
            log.add(seen.accepted_at, by.actor, "task.reply_accepted", target, reason=comment,
                    changes={"status": ["replied", "done"]})
            steps.append((seen.accepted_at, comment or self.reasons["accepted"], by.id))
        task["version"] = 1 + len(steps)
        return steps

    def _reply(self, ctx: _Dispatch, task: dict, target: tuple, seen: lifecycle.Life, at: dt.datetime,
               steps: list) -> None:
        rng = self.rng
        result = seen.result
        basis = "" if result == "resolved" else "依据{}相关规定。".format(
            rng.choice(V.POLICY_BASIS.get(ctx.leaf.code[:2], ["《信访工作条例》"])))
        task.update(status="replied", replied_at=at, replied_by_id=seen.handler.id, result=result,
                    reply_text=V.REPLY_FRAMES[result].format(leaf=ctx.leaf.name, action=rng.choice(V.REPLY_ACTIONS)),
                    policy_basis=basis)
        self.log.add(at, seen.handler.actor, "task.replied", target,
                     changes={"status": ["in_progress", "replied"], "result": result})
        steps.append((at, self.reasons["replied"], seen.handler.id))

    def _return_approved(self, task: dict, target: tuple, seen: lifecycle.Life, handover: _Handover,
                         steps: list) -> None:
        """tasks.services.task_decide_return, approved: returned, and replaced by a new task.
        (The decision and the link to the new task are two saves in one transaction; the
        final history row carries both.)"""
        by, at = seen.return_decided_by, seen.return_decided_at
        task.update(return_decided_at=at, return_decided_by_id=by.id, return_decision_comment=handover.comment,
                    closed_at=at, replaced_by_id=handover.task_id)
        self.log.add(at, by.actor, "task.return_approved", target, reason=handover.comment, changes={
            "status": ["return_requested", "returned"], "reassigned_to": handover.department.code})
        steps.append((at, handover.comment, by.id))

    def _sweep_rows(self, task: dict, target: tuple, dept: Dept, mark: lifecycle.Mark) -> list[tuple]:
        """The miss is marked once (services._sweep_one, or _note_misses in the transition
        that stopped the clock first), the reminder issued once by the sweep."""
        field = sla.OVERDUE_FIELD[mark.kind]
        task[field] = mark.due
        due = json_time(mark.due.astimezone(UTC))
        steps = []
        if mark.marked_by is None:
            self.log.add(mark.marked_at + dt.timedelta(milliseconds=5), self.system, "task.limit_missed", target,
                         changes={"limit": mark.kind, "due_at": due})
            steps.append((mark.marked_at + dt.timedelta(milliseconds=6), self.reasons["sweep"], self.system[0]))
        else:  # recorded just before the transition's own entry; its history row carries the field
            self.log.add(mark.marked_at - dt.timedelta(microseconds=500), mark.marked_by.actor, "task.limit_missed",
                         target, changes={"limit": mark.kind, "due_at": due})
        if mark.reminded_at is not None:
            reminder = {"id": self.ids[Reminder].next(), "task_id": task["id"], "kind": mark.kind,
                        "due_at": mark.due, "issued_at": mark.reminded_at, "department_id": dept.id}
            self.rows[Reminder].append(reminder)
            self.rows[HISTORY[Reminder]].append({
                **reminder, "history_date": mark.reminded_at + dt.timedelta(milliseconds=8),
                "history_change_reason": self.reasons["reminder"], "history_type": "+",
                "history_user_id": self.system[0]})
            self.log.add(mark.reminded_at + dt.timedelta(milliseconds=9), self.system, "task.reminded", target,
                         changes={"limit": mark.kind, "due_at": due})
            steps.append((mark.reminded_at + dt.timedelta(milliseconds=10), self.reasons["sweep"], self.system[0]))
        return steps

    # --- what the citizen says --------------------------------------------------------------

    def _citizen(self, rng: random.Random, channel: str) -> tuple[str, str, bool]:
        anonymous = rng.random() < ANONYMOUS
        if channel == "letter" and rng.random() < 0.3:
            phone = ""
        elif rng.random() < REPEAT_CALLERS:
            phone = self.pick_caller(rng)
        elif rng.random() < 0.06:
            phone = f"{V.PHONE_AREA_CODE}-{rng.randint(2100000, 2999999)}"
        else:
            phone = mobile(rng)
        if anonymous:
            return "", phone, True
        name = person_name(rng)
        if rng.random() < 0.55:
            name = name[0] + rng.choice(["先生", "女士"])
        return name, phone, False

    def _spots(self, place: Place) -> tuple:
        """Roads, compounds and landmarks of a street (or district), the same for every run."""
        anchor = place.street or place.district or place
        hit = self.spots.get(anchor.id)
        if hit is None:
            rng = random.Random(f"{self.options.seed}:{anchor.code}")
            taken: set[str] = set()
            roads = [place_name(rng, taken, rng.choice(V.ROAD_SUFFIXES)) for _i in range(6)]
            compounds = [place_name(rng, taken, rng.choice(V.COMPOUND_SUFFIXES)) for _i in range(5)]
            hit = self.spots[anchor.id] = (roads, compounds)
        return hit

    def _address(self, place: Place) -> tuple[str, str]:
        rng = self.rng
        roads, compounds = self._spots(place)
        prefix = "".join(p.name for p in (place.district, place.street, place.community) if p is not None)
        roll = rng.random()
        if roll < 0.4:
            spot = rng.choice(compounds)
            detail = f"{spot}{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元"
        elif roll < 0.7:
            spot = rng.choice(roads)
            detail = f"{spot}{rng.randint(1, 400)}号"
        elif roll < 0.8:
            first, second = rng.sample(roads, 2)
            spot = detail = f"{first}与{second}交叉口"
        else:
            spot = f"{(place.street or place).name}{rng.choice(V.LANDMARKS)}"
            detail = f"{rng.choice(V.LANDMARKS)}附近"
        return prefix + detail, spot

    def _content(self, channel: str, appeal_type: str, leaf: Leaf, place: Place, spot: str, lead: Dept) -> str:
        rng = self.rng
        issues, asks = V.PHRASES.get(leaf.code, ([f"存在{leaf.name}问题"], [f"{leaf.name}的相关规定"]))
        if appeal_type == "consultation":
            where = (place.street or place).name
            return f"{V.CONSULT_OPENINGS[channel]}：{rng.choice(asks)}？来电人居住在{where}，希望得到明确答复。"
        opening = rng.choice(V.CHANNEL_OPENINGS[channel]).format(short=V.CITY_SHORT)
        issue = rng.choice(issues)
        if appeal_type == "complaint":
            return f"{opening}：{spot}{issue}，{rng.choice(V.DURATIONS)}，{rng.choice(V.DEMANDS)}"
        if appeal_type == "help":
            return f"{opening}：{spot}{issue}，{rng.choice(V.HELP_DEMANDS)}"
        if appeal_type == "report":
            return f"{opening}：{spot}{issue}，请相关部门依法查处。"
        if appeal_type == "suggestion":
            return f"{opening}：" + rng.choice(V.SUGGESTION_FRAMES).format(issue=issue, place=spot)
        if appeal_type == "praise":
            return rng.choice(V.PRAISE_FRAMES).format(dept=lead.short_name or lead.name, leaf=leaf.name,
                                                      name=person_name(rng)[0] + "同志")
        return f"{opening}：{spot}{issue}，{rng.choice(V.DEMANDS)}"

    # --- bookkeeping ------------------------------------------------------------------------

    def _tracking_number(self, day: dt.date) -> str:
        value = self.counters.get(day, 0) + 1
        self.counters[day] = value
        prefix = self.day_prefix.get(day)
        if prefix is None:
            prefix = self.day_prefix[day] = f"{day:%Y%m%d}-"
        return f"{prefix}{value:06d}"

    def _history(self, model, fields: list[str], row: dict, at: dt.datetime, reason: str, kind: str,
                 user_id: int) -> None:
        hist = {f: row[f] for f in fields}
        hist.update(history_date=at, history_change_reason=reason, history_type=kind, history_user_id=user_id)
        self.rows[HISTORY[model]].append(hist)


@dataclasses.dataclass
class _Dispatch:
    appeal: dict
    leaf: Leaf
    place: Place
    dispatcher: Staff
    note: str


@dataclasses.dataclass
class _Handover:
    """An approved return: who takes the work order instead, the decision, the new task's id."""

    department: Dept
    comment: str
    task_id: int


@dataclasses.dataclass
class _Outcome:
    first_id: int
    accepted_at: dt.datetime | None
    accepted_by: Staff | None


def blank_row(model) -> dict:
    """A row of the model's defaults: columns added later by other apps' migrations are
    filled the way a save() would fill them. Columns without a default must be set."""
    row = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.has_default():
            row[field.attname] = field.get_default()
        elif field.has_db_default():
            row[field.attname] = getattr(field.db_default, "value", field.db_default)
        elif field.null:
            row[field.attname] = None
        elif field.blank and isinstance(field, (models.CharField, models.TextField)):
            row[field.attname] = ""
    return row


def _history_fields(model) -> list[str]:
    return [f.attname for f in model.history.model._meta.concrete_fields if not f.attname.startswith("history_")]


def _refresh(task: dict, reminded: set[str]) -> None:
    """sla.refresh_deadlines on the row's values: next_due_at and sweep_due_at."""
    proxy = SimpleNamespace(**{k: task[k] for k in (
        "status", "signed_at", "contacted_at", "sign_due_at", "contact_due_at", "resolve_due_at",
        "sign_overdue_at", "contact_overdue_at", "resolve_overdue_at")})
    sla.refresh_deadlines(proxy, reminded_kinds=reminded)
    task["next_due_at"], task["sweep_due_at"] = proxy.next_due_at, proxy.sweep_due_at
