"""Personal data kept no longer than needed (PIPL Art. 19, 47; security.md item 21).

Appeals closed more than settings.PERSONAL_DATA_RETENTION_YEARS ago lose the citizen's
personal data: name, phone and ID number are emptied (with their blind indexes), the
address is cut to the street (mask_address), and phone and ID numbers typed into free
text are masked (mask_text) in the appeal and in every record hanging from it (work
orders' notes and replies, return visits and their attempts, approval requests,
instructions, consultations, supervision cases: the text fields of the models that point
at the appeal, found through the model graph, two steps deep), in their history rows
too. What the figures need stays: categories, areas, departments, states, times,
versions and the action log.

"Closed": status closed with closed_at, or not accepted / merged (final at intake) with
concluded_at, before the cut-off. Done once per appeal (anonymised_at).

The exception to append-only history: on PostgreSQL the history tables refuse UPDATE
unless the transaction declares sanctioned maintenance (SET LOCAL xlx.maintenance = 'on',
apps.supervision.immutability). Each batch of this job does, inside its own transaction,
and only to overwrite personal data the law says must go; the run is recorded in the
action log (one entry with the count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.appeals import search
from apps.appeals.models import Appeal
from apps.audit.services import record
from apps.core.bulk_rows import update_fields
from apps.core.personal_data import mask_address, mask_text

# The appeal's own fields: emptied, cut, or masked.
_EMPTIED = ["citizen_name", "citizen_phone", "citizen_phone_index", "citizen_id_number", "citizen_id_number_index"]
_MASKED_TEXT = ["content", "answer", "reject_reason", "exclusion_reason"]


@dataclass
class RetentionRun:
    cutoff: dt.datetime
    years: int
    count: int = 0
    tracking_numbers: list[str] = field(default_factory=list)
    related_rows: int = 0
    history_rows: int = 0


def cutoff(now=None, years: int | None = None) -> dt.datetime:
    years = settings.PERSONAL_DATA_RETENTION_YEARS if years is None else years
    now = now or timezone.now()
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def due_for_anonymisation(before: dt.datetime):
    S = Appeal.Status
    return Appeal._base_manager.filter(anonymised_at__isnull=True).filter(
        Q(status=S.CLOSED, closed_at__lt=before) | Q(status__in=[S.REJECTED, S.MERGED], concluded_at__lt=before)
    )


def _free_text(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if isinstance(f, models.TextField) and f.editable]


def _history_model(model):
    manager_name = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, manager_name).model if manager_name else None


def related_records() -> list[tuple[type[models.Model], str, list[str]]]:
    """(model, lookup path to the appeal, its free-text fields) for every model that points
    at the appeal directly or through one model (a visit's attempts, a task's supervision
    cases). Found from the model graph: a new record type with notes is covered without
    naming it here (appeals sits below those apps)."""
    found, seen = [], set()

    def walk(model, path, depth):
        for rel in model._meta.related_objects:
            related = rel.related_model
            if rel.many_to_many or related is model or related._meta.model_name.startswith("historical"):
                continue
            lookup = f"{rel.field.name}__{path}" if path else rel.field.name
            texts = _free_text(related)
            if texts and (related, lookup) not in seen:
                seen.add((related, lookup))
                found.append((related, lookup, texts))
            if depth < 2:
                walk(related, lookup, depth + 1)

    walk(Appeal, "", 1)
    return found


def _mask_rows(rows, fields: list[str]) -> list:
    changed = []
    for row in rows:
        dirty = False
        for name in fields:
            old = getattr(row, name) or ""
            new = mask_text(old)
            if new != old:
                setattr(row, name, new)
                dirty = True
        if dirty:
            changed.append(row)
    return changed


def _anonymise_appeal_row(row, *, with_search_text: bool) -> None:
    for name in _EMPTIED:
        setattr(row, name, "")
    row.address = mask_address(row.address)
    for name in _MASKED_TEXT:
        setattr(row, name, mask_text(getattr(row, name) or ""))
    if with_search_text:
        row.search_text = search.index_text(row.content, row.address)


def _anonymise_batch(ids: list[int], now, related) -> tuple[int, int]:
    """One transaction: the appeals, their history, the related records and theirs."""
    related_rows = history_rows = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL xlx.maintenance = 'on'")  # see the module docstring
    # Rows written by primary key (apps.core.bulk_rows), no save() per row: neither
    # updated_at nor the version moves (times are kept) and no new history row repeats
    # what is being removed.
    appeals = list(Appeal._base_manager.filter(pk__in=ids).select_for_update())
    for appeal in appeals:
        _anonymise_appeal_row(appeal, with_search_text=True)
        appeal.anonymised_at = now
    update_fields(
        Appeal, appeals, [*_EMPTIED, "address", *_MASKED_TEXT, "search_text", "anonymised_at"], connection=connection
    )
    history = _history_model(Appeal)
    rows = list(history._base_manager.filter(id__in=ids))
    for row in rows:
        _anonymise_appeal_row(row, with_search_text=False)
        row.anonymised_at = now
    update_fields(history, rows, [*_EMPTIED, "address", *_MASKED_TEXT, "anonymised_at"], connection=connection)
    history_rows += len(rows)
    for model, lookup, texts in related:
        live = list(model._base_manager.filter(**{f"{lookup}__in": ids}))
        changed = _mask_rows(live, texts)
        if changed:
            update_fields(model, changed, texts, connection=connection)
            related_rows += len(changed)
        hist = _history_model(model)
        if hist is not None and live:
            hist_texts = [t for t in texts if t in {f.attname for f in hist._meta.concrete_fields}]
            hist_changed = _mask_rows(hist._base_manager.filter(id__in=[r.pk for r in live]), hist_texts)
            if hist_changed:
                update_fields(hist, hist_changed, hist_texts, connection=connection)
                history_rows += len(hist_changed)
    return related_rows, history_rows


def anonymise_closed_appeals(
    *, actor, now=None, years: int | None = None, dry_run: bool = False, batch: int = 500, progress=None
) -> RetentionRun:
    """Anonymise every appeal due, `batch` appeals per transaction (a stop keeps what is
    done; the next run continues). `dry_run` only lists them."""
    now = now or timezone.now()
    years = settings.PERSONAL_DATA_RETENTION_YEARS if years is None else years
    run = RetentionRun(cutoff=cutoff(now, years), years=years)
    due = due_for_anonymisation(run.cutoff).order_by("pk")
    if dry_run:
        run.tracking_numbers = list(due.values_list("tracking_number", flat=True))
        run.count = len(run.tracking_numbers)
        return run
    related = related_records()
    last = 0
    while True:
        chunk = list(due.filter(pk__gt=last).values_list("pk", "tracking_number")[:batch])
        if not chunk:
            break
        ids = [pk for pk, _number in chunk]
        last = ids[-1]
        with transaction.atomic():
            related_rows, history_rows = _anonymise_batch(ids, now, related)
        run.count += len(ids)
        run.related_rows += related_rows
        run.history_rows += history_rows
        run.tracking_numbers.extend(number for _pk, number in chunk)
        if progress:
            progress(run)
    with transaction.atomic():
        record(
            actor=actor,
            action="appeal.personal_data_anonymised",
            reason=f"retention: closed more than {years} years ago",
            changes={
                "count": run.count,
                "cutoff": run.cutoff.isoformat(),
                "related_rows": run.related_rows,
                "history_rows": run.history_rows,
            },
        )
    return run
