"""Intake: record an appeal and conclude it (answer, reject, merge). Dispatch lives in
apps.tasks.services (it creates the work orders), and so does revealing a citizen's contact
(departments may see it for the appeals they handle).

Appeals sit below tasks, followups and authorization: nothing here calls them. What follows
a step here is the caller's to do (a direct answer's sampled return visit:
apps.followups.services.appeal_answer_and_sample; the visit after review:
apps.followups.services.visit_schedule_when_reviewed).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appeals import search
from apps.appeals.models import Appeal, Category
from apps.audit.services import record
from apps.core import versioning
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, NotPermitted
from apps.core.history import set_history_context
from apps.core.personal_data import mask_id_number, mask_phone
from apps.core.text_limits import LONG_TEXT
from apps.core.timefmt import local_minute
from apps.core.validation import require_text
from apps.notifications import services as notifications
from apps.organization.models import Area, User


def _next_tracking_number(now) -> str:
    """20261126-000123: gap-free per day. One upsert on the day's counter row, which stays
    locked until commit, so two operators never get the same number."""
    day = timezone.localdate(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO appeals_trackingcounter (day, value) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET value = appeals_trackingcounter.value + 1 RETURNING value",
            [day],
        )
        value = cursor.fetchone()[0]
    return f"{day:%Y%m%d}-{value:06d}"


def _lock(appeal: Appeal, expected_version: int | None) -> Appeal:
    return versioning.lock(
        Appeal.objects.select_related("category", "area"),
        pk=appeal.pk,
        expected_version=expected_version,
        stale_message=lambda locked: (
            _("Someone else changed appeal %(number)s after you opened it. Reload and try again.")
            % {"number": locked.tracking_number}
        ),
        of=("self",),
    )


# A leader's live rule adaptation (变通) may raise the priority of new appeals. Adaptations
# belong to apps.authorization, which sits above appeals (its models point at appeals), so
# it installs its lookup here when it starts (AuthorizationConfig.ready) instead of appeals
# importing it. The lookup returns the priority and the adaptation that raised it (or None).
PriorityAdapter = Callable[..., tuple[str, object | None]]


def _priority_as_requested(*, category: Category, area: Area, priority: str, at) -> tuple[str, None]:
    return priority, None


_adapt_priority: PriorityAdapter = _priority_as_requested


def install_priority_adapter(adapter: PriorityAdapter) -> None:
    """Called once at start-up by apps.authorization with `adaptations.adapted_priority`."""
    global _adapt_priority
    _adapt_priority = adapter


def ensure_operator(actor: User) -> None:
    if actor.role not in {User.Role.OPERATOR, User.Role.DISPATCHER}:
        raise NotPermitted(_("Only centre operators and dispatchers handle intake."))


@transaction.atomic
def appeal_register(
    *,
    actor: User,
    channel: str,
    appeal_type: str,
    category: Category,
    area: Area,
    content: str,
    address: str = "",
    citizen_name: str = "",
    citizen_phone: str = "",
    citizen_id_number: str = "",
    is_anonymous: bool = False,
    is_confidential: bool = False,
    priority: str = Appeal.Priority.P2,
    received_at=None,
) -> Appeal:
    """Record an appeal as received. P0 appeals alert the city leaders at once."""
    ensure_operator(actor)
    if not category.is_leaf or not category.is_active:
        raise DomainError(_("Choose an active category at the lowest level (e.g. 城市管理 › 市容环境 › 占道经营)."))
    content = require_text(content, _("Describe the appeal."), limit=LONG_TEXT)
    citizen_id_number = (citizen_id_number or "").strip().upper()
    if is_anonymous:
        # An anonymous caller is not identified: neither name nor ID number is kept.
        citizen_name = citizen_id_number = ""
    now = timezone.now()
    # A leader's live adaptation (变通) may raise the priority of new appeals like this one.
    requested_priority = priority
    priority, adaptation = _adapt_priority(category=category, area=area, priority=priority, at=now)
    appeal = Appeal(
        is_escalated=priority == Appeal.Priority.P0,  # a major emergency goes to the city government
        escalated_at=now if priority == Appeal.Priority.P0 else None,
        tracking_number=_next_tracking_number(now),
        channel=channel,
        appeal_type=appeal_type,
        category=category,
        area=area,
        address=address,
        content=content.strip(),
        citizen_name=citizen_name,
        citizen_phone=citizen_phone,
        citizen_id_number=citizen_id_number,
        is_anonymous=is_anonymous,
        is_confidential=is_confidential,
        priority=priority,
        received_at=received_at or now,
        received_by=actor,
        search_text=search.index_text(content, address),
    )
    # Field validation only: the tracking number is unique by construction and the
    # database enforces the check constraints (validating them here costs a query each).
    # The related objects were passed in, so their existence checks are skipped too.
    appeal.full_clean(exclude=["category", "area", "received_by"], validate_unique=False, validate_constraints=False)
    set_history_context(appeal, actor=actor, reason=_("appeal received"))
    appeal.save()
    record(
        actor=actor,
        action="appeal.received",
        target=appeal,
        reason="",
        changes={
            "channel": channel,
            "appeal_type": appeal_type,
            "category": category.code,
            "area": area.code,
            "priority": priority,
            "phone": mask_phone(citizen_phone),
            **({"id_number": mask_id_number(citizen_id_number)} if citizen_id_number else {}),
            **({"priority_raised_from": requested_priority, "adaptation": adaptation.pk} if adaptation else {}),
        },
    )
    if priority == Appeal.Priority.P0:
        _notify_p0(appeal)
    return appeal


def _notify_p0(appeal: Appeal) -> None:
    notifications.notify_role(
        role=User.Role.CITY_LEADER,
        title=_("Major emergency: appeal %(number)s") % {"number": appeal.tracking_number},
        body=_("%(category)s, %(area)s. Received %(time)s.")
        % {
            "category": appeal.category,
            "area": appeal.area,
            "time": local_minute(appeal.received_at),
        },
        link=admin_change_url(appeal),
    )


@transaction.atomic
def appeal_answer_directly(*, actor: User, appeal: Appeal, answer: str, expected_version: int | None = None) -> Appeal:
    """Answer a consultation at intake from the knowledge base (直接答复): RECEIVED → ANSWERED.
    A sample of direct answers is called back, the others close: the caller's next step
    (apps.followups.services.appeal_answer_and_sample does both in one transaction)."""
    ensure_operator(actor)
    answer = require_text(answer, _("Write the answer given to the citizen."), limit=LONG_TEXT)
    appeal = _lock(appeal, expected_version)
    appeal.move_to(Appeal.Status.ANSWERED)
    appeal.answer, appeal.concluded_at, appeal.concluded_by = answer, timezone.now(), actor
    versioning.save(
        appeal, actor=actor, reason=_("answered directly"), fields=["status", "answer", "concluded_at", "concluded_by"]
    )
    record(actor=actor, action="appeal.answered", target=appeal, changes={"status": ["received", "answered"]})
    return appeal


@transaction.atomic
def appeal_reject(
    *, actor: User, appeal: Appeal, route: str, reason: str, expected_version: int | None = None
) -> Appeal:
    """Not accepted: out of scope. The lawful route told to the citizen is recorded."""
    ensure_operator(actor)
    if route not in Appeal.RejectRoute.values:
        raise DomainError(_("Choose the lawful route the citizen was told about."))
    reason = require_text(reason)
    appeal = _lock(appeal, expected_version)
    appeal.move_to(Appeal.Status.REJECTED)
    appeal.reject_route, appeal.reject_reason = route, reason
    appeal.concluded_at, appeal.concluded_by = timezone.now(), actor
    versioning.save(
        appeal,
        actor=actor,
        reason=reason,
        fields=["status", "reject_route", "reject_reason", "concluded_at", "concluded_by"],
    )
    record(
        actor=actor,
        action="appeal.rejected",
        target=appeal,
        reason=reason,
        changes={"status": ["received", "rejected"], "route": route},
    )
    return appeal


@transaction.atomic
def appeal_merge(
    *, actor: User, appeal: Appeal, into: Appeal, reason: str, expected_version: int | None = None
) -> Appeal:
    """并单: the appeal is about the same issue as an earlier one and follows it."""
    ensure_operator(actor)
    reason = require_text(reason)
    if into.pk == appeal.pk:
        raise DomainError(_("An appeal cannot be merged into itself."))
    target = Appeal.objects.select_for_update().get(pk=into.pk)
    if target.status in {Appeal.Status.MERGED, Appeal.Status.REJECTED}:
        raise DomainError(
            _("Appeal %(number)s is itself merged or not accepted; merge into the appeal it follows.")
            % {"number": target.tracking_number}
        )
    appeal = _lock(appeal, expected_version)
    appeal.move_to(Appeal.Status.MERGED)
    appeal.merged_into = target
    appeal.concluded_at, appeal.concluded_by = timezone.now(), actor
    versioning.save(
        appeal, actor=actor, reason=reason, fields=["status", "merged_into", "concluded_at", "concluded_by"]
    )
    record(
        actor=actor,
        action="appeal.merged",
        target=appeal,
        reason=reason,
        changes={"status": ["received", "merged"], "merged_into": target.tracking_number},
    )
    return appeal


@transaction.atomic
def appeal_mark_reviewed(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """All work orders of a dispatched appeal are accepted: ready for the return visit,
    which the caller schedules (apps.followups.services.visit_schedule_when_reviewed)."""
    appeal = _lock(appeal, None)
    if appeal.status == Appeal.Status.REVIEWED:
        return appeal
    appeal.move_to(Appeal.Status.REVIEWED)
    versioning.save(appeal, actor=actor, reason=reason, fields=["status"])
    record(
        actor=actor,
        action="appeal.reviewed",
        target=appeal,
        reason=reason,
        changes={"status": ["dispatched", "reviewed"]},
    )
    return appeal


# Runs inside the dispatch's transaction and fails it when it fails: no savepoint of its own.
@transaction.atomic(savepoint=False)
def appeal_mark_dispatched(*, actor: User, appeal: Appeal, reason: str, expected_version: int | None = None) -> Appeal:
    """Called by the dispatch service once the work orders exist."""
    appeal = _lock(appeal, expected_version)
    old = appeal.status
    if old != Appeal.Status.DISPATCHED:
        appeal.move_to(Appeal.Status.DISPATCHED)
        if old == Appeal.Status.RECEIVED:
            appeal.concluded_at, appeal.concluded_by = timezone.now(), actor
        versioning.save(appeal, actor=actor, reason=reason, fields=["status", "concluded_at", "concluded_by"])
    return appeal


@transaction.atomic
def appeal_escalate(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """提级: the appeal goes to the city government (an approved escalation). The city
    leaders are told at once and its open work orders get the 24-hour limit."""
    reason = require_text(reason)
    appeal = _lock(appeal, None)
    if appeal.is_escalated:
        raise DomainError(_("Appeal %(number)s is already escalated.") % {"number": appeal.tracking_number})
    if appeal.status not in {Appeal.Status.RECEIVED, Appeal.Status.DISPATCHED}:
        raise DomainError(_("Only appeals being handled can be escalated."))
    appeal.is_escalated, appeal.escalated_at = True, timezone.now()
    versioning.save(appeal, actor=actor, reason=reason, fields=["is_escalated", "escalated_at"])
    record(actor=actor, action="appeal.escalated", target=appeal, reason=reason)
    notifications.notify_role(
        role=User.Role.CITY_LEADER,
        title=_("Escalated to the city government: %(number)s") % {"number": appeal.tracking_number},
        body=reason,
        link=admin_change_url(appeal),
    )
    return appeal


@transaction.atomic
def appeal_exclude_from_appraisal(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """An approved exclusion: the appeal stays in volumes but not in department scores."""
    reason = require_text(reason)
    appeal = _lock(appeal, None)
    if appeal.is_excluded_from_appraisal:
        raise DomainError(
            _("Appeal %(number)s is already excluded from appraisal.") % {"number": appeal.tracking_number}
        )
    appeal.is_excluded_from_appraisal, appeal.exclusion_reason = True, reason
    versioning.save(appeal, actor=actor, reason=reason, fields=["is_excluded_from_appraisal", "exclusion_reason"])
    record(actor=actor, action="appeal.excluded_from_appraisal", target=appeal, reason=reason)
    return appeal


@transaction.atomic
def appeal_close(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """办结归档: the appeal is finally closed, after its return visit (done, unreachable) or,
    for a direct answer, when it is not sampled for one. Called by apps.followups."""
    reason = require_text(reason)
    appeal = _lock(appeal, None)
    old = appeal.status
    appeal.move_to(Appeal.Status.CLOSED)
    appeal.closed_at = timezone.now()
    versioning.save(appeal, actor=actor, reason=reason, fields=["status", "closed_at"])
    record(actor=actor, action="appeal.closed", target=appeal, reason=reason, changes={"status": [old, "closed"]})
    return appeal


@transaction.atomic
def appeal_reopen(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """重办: an unsatisfied return visit sends the appeal back to its department."""
    reason = require_text(reason)
    appeal = _lock(appeal, None)
    old = appeal.status
    appeal.move_to(Appeal.Status.DISPATCHED)
    versioning.save(appeal, actor=actor, reason=reason, fields=["status"])
    record(actor=actor, action="appeal.reopened", target=appeal, reason=reason, changes={"status": [old, "dispatched"]})
    return appeal


@transaction.atomic
def appeal_contact_searched(*, actor: User, kind: str, number: str) -> None:
    """A search by a citizen's full phone or ID number (permitted users only) is a look at
    personal data: the action log records who searched, the number masked, and when."""
    masked = mask_phone(number) if kind == "phone" else mask_id_number(number)
    record(actor=actor, action="appeal.searched_by_contact", changes={"kind": kind, "number": masked})
