"""Conduct flags: inaction (不作为), slow action (慢作为), wrong action (乱作为).

Each rule is a queryset of work orders plus who answers for it (the department, and a
person field when a person acted). Summaries are one GROUP BY query per rule; the
drill-down lists the work orders of one rule for one department or person. Nothing is
stored: the flags are always what the record says now.

Rules are a registry (`register(Rule(...))`); "reopened after an unsatisfied visit" reads
the reopen counter that apps.followups raises (see `REOPENED_HOOK`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, F, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.authorization.models import ApprovalRequest
from apps.tasks.models import Task


class Kind:
    INACTION = "inaction"
    SLOW = "slow"
    WRONG = "wrong"


KIND_LABELS = {
    Kind.INACTION: _("inaction (不作为)"),
    Kind.SLOW: _("slow action (慢作为)"),
    Kind.WRONG: _("wrong action (乱作为)"),
}


@dataclass(frozen=True)
class Rule:
    key: str
    kind: str
    label: object
    tasks: Callable[[], QuerySet]  # the flagged work orders (all time)
    person_field: str | None  # the User FK on Task of the person who answers for it


def _appeals_returned_more_than_twice():
    return (
        Task.objects.filter(status=Task.Status.RETURNED)
        .order_by()
        .values("appeal")
        .annotate(n=Count("id"))
        .filter(n__gt=2)
        .values("appeal")
    )


def _tasks_extended_twice():
    return (
        ApprovalRequest.objects.filter(kind="extension", status="approved", task__isnull=False)
        .order_by()
        .values("task")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .values("task")
    )


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    RULES[rule.key] = rule
    return rule


register(Rule("sign_overdue", Kind.INACTION, _("sign-for limit missed"),
              lambda: Task.objects.filter(sign_overdue_at__isnull=False), None))
register(Rule("contact_overdue", Kind.INACTION, _("contact limit missed, citizen not contacted"),
              lambda: Task.objects.filter(contact_overdue_at__isnull=False, contacted_at__isnull=True), "signed_by"))
register(Rule("resolve_overdue", Kind.INACTION, _("resolution limit missed"),
              lambda: Task.objects.filter(resolve_overdue_at__isnull=False), "signed_by"))
register(Rule("late_contact", Kind.SLOW, _("citizen contacted after the limit"),
              lambda: Task.objects.filter(contacted_at__gt=F("contact_due_at")), "contacted_by"))
register(Rule("repeated_extensions", Kind.SLOW, _("extended more than once"),
              lambda: Task.objects.filter(pk__in=_tasks_extended_twice()), "signed_by"))
register(Rule("sent_back", Kind.WRONG, _("reply sent back by review"),
              lambda: Task.objects.filter(sent_back_count__gte=1), "replied_by"))
register(Rule("returned_often", Kind.WRONG, _("returned; the appeal was returned more than twice"),
              lambda: Task.objects.filter(status=Task.Status.RETURNED, appeal__in=_appeals_returned_more_than_twice()),
              "return_requested_by"))

# A work order reopened (重办) after an unresolved or unsatisfied return visit, for a reason
# the visit agent judged within the department's control: only those raise reopen_count.
# The reply that failed is replaced by the next one, so the person is who holds the case.
REOPENED_HOOK = "reopened_unsatisfied"
register(Rule(REOPENED_HOOK, Kind.WRONG, _("reopened after an unsatisfied return visit"),
              lambda: Task.objects.filter(reopen_count__gte=1), "signed_by"))


def _in_period(qs: QuerySet, since: dt.datetime | None, until: dt.datetime | None) -> QuerySet:
    # The period is the dispatch time: a work order counts in the month it was dispatched.
    if since:
        qs = qs.filter(dispatched_at__gte=since)
    if until:
        qs = qs.filter(dispatched_at__lt=until)
    return qs


def summary_by_department(*, since=None, until=None, department_ids=None) -> dict[int, dict[str, int]]:
    """{department id: {rule key: count}}: one GROUP BY query per rule."""
    out: dict[int, dict[str, int]] = {}
    for rule in RULES.values():
        qs = _in_period(rule.tasks(), since, until)
        if department_ids is not None:
            qs = qs.filter(department_id__in=department_ids)
        for row in qs.order_by().values("department_id").annotate(n=Count("id", distinct=True)):
            out.setdefault(row["department_id"], {})[rule.key] = row["n"]
    return out


def summary_by_person(*, since=None, until=None, department_id=None) -> dict[int, dict[str, int]]:
    """{user id: {rule key: count}} for the rules that name a person."""
    out: dict[int, dict[str, int]] = {}
    for rule in RULES.values():
        if not rule.person_field:
            continue
        qs = _in_period(rule.tasks(), since, until).filter(**{f"{rule.person_field}__isnull": False})
        if department_id is not None:
            qs = qs.filter(department_id=department_id)
        for row in qs.order_by().values(rule.person_field).annotate(n=Count("id", distinct=True)):
            out.setdefault(row[rule.person_field], {})[rule.key] = row["n"]
    return out


def evidence(rule_key: str, *, department_id=None, person_id=None, since=None, until=None) -> QuerySet:
    """The flagged work orders of one rule (drill-down), with what the page shows."""
    rule = RULES[rule_key]
    qs = _in_period(rule.tasks(), since, until)
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    if person_id is not None and rule.person_field:
        qs = qs.filter(**{f"{rule.person_field}_id": person_id})
    return qs.select_related("appeal", "department", "signed_by", "contacted_by", "replied_by").order_by(
        "-dispatched_at", "-id"
    )


def rule_columns() -> list[tuple[str, str, str]]:
    return [(r.key, str(KIND_LABELS[r.kind]), str(r.label)) for r in RULES.values()]
