"""Consultations (会商): a leader asks departments for their opinions by a deadline, then
concludes with a decision. Late opinions are accepted and flagged; the duration is kept.
DESIGN §1 "shorten consultation", issue 5.

Lock order: the consultation row first, then the invite, in every service, so an opinion
and the conclusion never cross.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appeals.models import Appeal
from apps.audit.services import record
from apps.authorization.models import Consultation, ConsultationInvite
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, InvalidTransition, NotFoundForActor, NotPermitted
from apps.core.history import set_history_context
from apps.core.text_limits import LONG_TEXT
from apps.core.timefmt import local_minute
from apps.core.validation import require_text
from apps.notifications import services as notifications
from apps.organization.models import Department, User
from apps.organization.services import department_group_name
from apps.tasks.permissions import DEPARTMENT_ROLES, department_handles_appeal

R = User.Role
OPENER_ROLES = {R.CITY_LEADER, R.DEPT_LEADER}
READ_ALL_ROLES = {R.CITY_LEADER, R.INSPECTOR, R.DISPATCHER}
Status = Consultation.Status


def _local(instant) -> str:
    return local_minute(instant)


def _invite_link(invite: ConsultationInvite) -> str:
    return admin_change_url(invite)


# --- Scope ---------------------------------------------------------------------------------


def visible_consultations(user, qs: QuerySet[Consultation] | None = None) -> QuerySet[Consultation]:
    """Department roles: consultations their department is invited to (one EXISTS on the
    invite table) or that they opened. City leaders, inspectors and the centre: all."""
    qs = Consultation.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role in READ_ALL_ROLES:
        return qs
    if user.role in DEPARTMENT_ROLES and user.department_id:
        invited = Exists(
            ConsultationInvite.objects.filter(consultation=OuterRef("pk"), department_id=user.department_id)
        )
        return qs.filter(invited | Q(opened_by=user))
    return qs.none()


def visible_invites(user, qs: QuerySet[ConsultationInvite] | None = None) -> QuerySet[ConsultationInvite]:
    """Department roles: their department's invitations, and all invitations of the
    consultations they opened (a department does not read another's opinion otherwise)."""
    qs = ConsultationInvite.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role in READ_ALL_ROLES:
        return qs
    if user.role in DEPARTMENT_ROLES and user.department_id:
        return qs.filter(Q(department_id=user.department_id) | Q(consultation__opened_by=user))
    return qs.none()


def _ensure_invited(actor: User, invite: ConsultationInvite) -> None:
    if actor.is_active and actor.role in DEPARTMENT_ROLES and actor.department_id == invite.department_id:
        return
    if visible_invites(actor, ConsultationInvite.objects.filter(pk=invite.pk)).exists():
        raise NotPermitted(_("Only staff of %(dept)s give its opinion.") % {"dept": invite.department})
    raise NotFoundForActor(_("No such consultation."))


def _ensure_opener(actor: User, consultation: Consultation) -> None:
    if actor.is_active and actor.pk == consultation.opened_by_id:
        return
    if visible_consultations(actor, Consultation.objects.filter(pk=consultation.pk)).exists():
        raise NotPermitted(
            _("Only %(leader)s, who opened the consultation, concludes it.") % {"leader": consultation.opened_by}
        )
    raise NotFoundForActor(_("No such consultation."))


# --- Services ------------------------------------------------------------------------------


@transaction.atomic
def consultation_open(
    *,
    actor: User,
    topic: str,
    question: str,
    deadline: dt.datetime,
    departments: list[Department],
    appeal: Appeal | None = None,
) -> Consultation:
    """会商: a city or department leader asks departments for opinions by `deadline`; one
    invitation per department, each department notified."""
    if actor.role not in OPENER_ROLES or not actor.is_active:
        raise NotPermitted(_("Only city leaders and department leaders open consultations."))
    if appeal is not None and actor.role == R.DEPT_LEADER and not department_handles_appeal(actor, appeal):
        raise NotFoundForActor(_("No such appeal."))
    topic = require_text(topic, _("Give the consultation a topic."))
    question = require_text(question, _("Write the question the departments answer."), limit=LONG_TEXT)
    now = timezone.now()
    if deadline is None or deadline <= now:
        raise DomainError(_("The deadline for opinions must be in the future."))
    departments = list({d.pk: d for d in (departments or [])}.values())
    if not departments:
        raise DomainError(_("Invite at least one department."))
    if any(not d.is_active for d in departments):
        raise DomainError(_("Deactivated departments cannot be invited."))

    consultation = Consultation(
        opened_by=actor, opened_at=now, appeal=appeal, topic=topic, question=question, deadline=deadline
    )
    consultation.full_clean(exclude=["opened_by", "appeal"])
    set_history_context(consultation, actor=actor, reason=_("consultation opened"))
    consultation.save()
    invites = []
    for department in sorted(departments, key=lambda d: d.path):
        invite = ConsultationInvite(consultation=consultation, department=department)
        set_history_context(invite, actor=actor, reason=_("department invited"))
        invite.save()
        invites.append(invite)
    record(
        actor=actor,
        action="consultation.opened",
        target=consultation,
        changes={
            "topic": topic,
            "appeal": appeal.tracking_number if appeal else None,
            "deadline": deadline,
            "departments": [i.department.code for i in invites],
        },
    )
    for invite in invites:
        notifications.notify_group(
            group_name=department_group_name(invite.department),
            title=_("Consultation (会商): %(topic)s") % {"topic": topic},
            body=_("%(question)s\nGive your department's opinion by %(deadline)s.")
            % {"question": question, "deadline": _local(deadline)},
            link=_invite_link(invite),
        )
    return consultation


@transaction.atomic
def consultation_give_opinion(*, actor: User, invite: ConsultationInvite, opinion: str) -> ConsultationInvite:
    """An invited department gives (or revises) its opinion while the consultation is open.
    Late opinions are accepted and flagged; `opinion_at` is the time of the opinion in
    force, earlier versions stay in the history. The opener is notified."""
    opinion = require_text(opinion, _("Write your department's opinion."))
    consultation = Consultation.objects.select_for_update().get(pk=invite.consultation_id)
    invite = ConsultationInvite.objects.select_for_update().select_related("department").get(pk=invite.pk)
    invite.consultation = consultation
    _ensure_invited(actor, invite)
    if consultation.status != Status.OPEN:
        raise InvalidTransition(_("The consultation was concluded; opinions can no longer be given."))
    revised = invite.opinion_at is not None
    invite.opinion, invite.opinion_by, invite.opinion_at = opinion, actor, timezone.now()
    set_history_context(invite, actor=actor, reason=_("opinion revised") if revised else _("opinion given"))
    invite.save(update_fields=["opinion", "opinion_by", "opinion_at", "updated_at"])
    record(
        actor=actor,
        action="consultation.opinion_revised" if revised else "consultation.opinion_given",
        target=invite,
        changes={"department": invite.department.code, "late": invite.is_late, "deadline": consultation.deadline},
    )
    notifications.notify_users(
        user_ids=[consultation.opened_by_id],
        title=_("%(dept)s gave its opinion on “%(topic)s”") % {"dept": invite.department, "topic": consultation.topic},
        body=opinion,
        link=_invite_link(invite),
    )
    return invite


@transaction.atomic
def consultation_conclude(*, actor: User, consultation: Consultation, decision: str) -> Consultation:
    """The leader who opened the consultation decides. Departments that gave no opinion stay
    listed as missing (the action log names them); every invited department is told."""
    decision = require_text(decision, _("Write the decision."))
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    _ensure_opener(actor, consultation)
    if consultation.status != Status.OPEN:
        raise InvalidTransition(
            _("This consultation was already concluded at %(time)s.") % {"time": _local(consultation.concluded_at)}
        )
    now = timezone.now()
    consultation.status, consultation.decision, consultation.concluded_at = Status.CONCLUDED, decision, now
    set_history_context(consultation, actor=actor, reason=decision)
    consultation.save(update_fields=["status", "decision", "concluded_at", "updated_at"])
    invites = list(consultation.invites.select_related("department").order_by("department__path"))
    for invite in invites:
        invite.consultation = consultation
    record(
        actor=actor,
        action="consultation.concluded",
        target=consultation,
        reason=decision,
        changes={
            "status": [Status.OPEN, Status.CONCLUDED],
            "duration_seconds": int(consultation.duration.total_seconds()),
            "missing": [i.department.code for i in invites if i.opinion_at is None],
            "late": [i.department.code for i in invites if i.opinion_at is not None and i.is_late],
        },
    )
    for invite in invites:
        notifications.notify_group(
            group_name=department_group_name(invite.department),
            title=_("Consultation concluded: %(topic)s") % {"topic": consultation.topic},
            body=decision,
            link=_invite_link(invite),
        )
    return consultation


# --- Selectors -----------------------------------------------------------------------------

_INVITE_RELATED = ["consultation__opened_by", "consultation__appeal", "department", "opinion_by"]


def invite_list_open_for_department(*, department: Department) -> QuerySet[ConsultationInvite]:
    """A department's invitations to consultations still open, nearest deadline first."""
    return (
        ConsultationInvite.objects.filter(department=department, consultation__status=Status.OPEN)
        .select_related(*_INVITE_RELATED)
        .order_by("consultation__deadline", "id")
    )


def invite_list_missing(*, consultation: Consultation) -> QuerySet[ConsultationInvite]:
    """Invited departments that have given no opinion (after conclusion too)."""
    return consultation.invites.filter(opinion_at__isnull=True).select_related("department")
