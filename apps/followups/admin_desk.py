"""The return-visit page as a case desk (apps.core.admin_desk): what the agent says to the
citizen (the department's reply, or the direct answer) and what the citizen said before."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.casefile.timeline import case_timeline
from apps.core.admin_desk import Badge, Desk, Panel
from apps.core.personal_data import mask_phone
from apps.core.timefmt import countdown, local_minute
from apps.followups.models import Visit
from apps.organization.models import User
from apps.tasks.admin_desk import appeal_panel, reply_panel
from apps.tasks.models import Task

V = Visit.Status
# Who calls the citizen back, and so may see even a confidential complainant's masked phone.
VISIT_CALLERS = {User.Role.VISIT_AGENT}


def _who(user) -> str:
    return user.described() if user is not None else ""


def answer_panels(visit: Visit) -> list[Panel]:
    """The replies the citizen is asked about: every accepted work order's, lead first."""
    appeal = visit.appeal
    if visit.kind == Visit.Kind.DIRECT or not visit.task_id:
        return [Panel("answer", _("The direct answer"), [(_("direct answer"), appeal.answer)])]
    tasks = (
        Task.objects.filter(appeal=appeal, status=Task.Status.DONE)
        .select_related("department", "replied_by__department", "contacted_by__department")
    )
    ordered = sorted(tasks, key=lambda t: (t.role != Task.Role.LEAD, t.pk))  # the lead's reply first
    return [reply_panel(t) for t in ordered]


def outcome_panel(visit: Visit) -> Panel:
    return Panel("outcome", _("Outcome"), [
        (_("recorded"), " · ".join(p for p in (local_minute(visit.completed_at), _who(visit.completed_by)) if p)),
        (_("resolved"), (_("yes") if visit.resolved else _("no")) if visit.resolved is not None else ""),
        (_("satisfaction"), visit.get_satisfaction_display() if visit.satisfaction else ""),
        (_("the citizen's words"), visit.citizen_words),
        (_("cause"), visit.get_fault_display() if visit.fault else ""),
        (_("note on the cause"), visit.fault_note),
        (_("reopened the work order"), _("yes") if visit.reopened else ""),
    ])


def attempts_panel(visit: Visit) -> Panel:
    rows = [
        (_("attempt %(n)d") % {"n": a.number},
         " · ".join(p for p in (local_minute(a.started_at), a.agent.get_full_name(),
                                _("reached") if a.reached else _("not reached"), a.note) if p))
        for a in visit.attempts.select_related("agent").order_by("number")
    ]
    return Panel("attempts", _("Calls"), rows)


def earlier_panel(visit: Visit) -> Panel:
    """Earlier rounds: what the citizen said last time (the reason for this round)."""
    rows = [
        (_("round %(n)d") % {"n": v.round},
         " · ".join(p for p in (local_minute(v.completed_at), v.get_satisfaction_display() if v.satisfaction else "",
                                v.citizen_words) if p))
        for v in visit.appeal.visits.filter(round__lt=visit.round).exclude(pk=visit.pk).order_by("round")
    ]
    return Panel("earlier", _("Earlier return visits"), rows)


def visit_desk(visit: Visit, viewer) -> Desk:
    visit = Visit.objects.select_related(
        "appeal__category", "appeal__area", "department", "assigned_to", "completed_by__department",
    ).get(pk=visit.pk)
    appeal = visit.appeal
    badges = [Badge(visit.get_status_display(), "warn" if visit.status == V.SCHEDULED else "ok")]
    if visit.status == V.SCHEDULED:
        badges.append(Badge(countdown(visit.due_at), "bad" if visit.due_at < timezone.now() else ""))
        if visit.call_started_at:
            badges.append(Badge(_("call in progress"), "info"))
    if visit.reopened:
        badges.append(Badge(_("reopened the work order"), "warn"))
    if appeal.is_anonymous:
        citizen = _("anonymous")
    elif appeal.is_confidential and viewer.role not in VISIT_CALLERS:
        citizen = _("confidential")  # 保密: only the centre's agents call a confidential complainant
    else:
        citizen = mask_phone(appeal.citizen_phone)
    side = [
        Panel("visit", _("Return visit"), [
            (_("kind"), visit.get_kind_display()),
            (_("round"), str(visit.round)),
            (_("visit by"), local_minute(visit.due_at)),
            (_("assigned to"), visit.assigned_to.get_full_name() if visit.assigned_to_id else ""),
            (_("department"), visit.department.name if visit.department_id else ""),
            (_("attempts"), str(visit.attempt_count) if visit.attempt_count else ""),
        ]),
        Panel("citizen", _("Citizen"), [(_("citizen phone"), citizen)],
              note=_("Start the call to see the number to dial (logged).") if visit.status == V.SCHEDULED else ""),
        attempts_panel(visit),
    ]
    main = [
        *(answer_panels(visit)),
        appeal_panel(appeal, viewer=viewer),
        earlier_panel(visit),
        outcome_panel(visit),
    ]
    return Desk(
        title=_("Return visit %(number)s") % {"number": appeal.tracking_number},
        subtitle=_("round %(n)d") % {"n": visit.round},
        badges=badges,
        main=main,
        side=side,
        timeline=case_timeline(appeal.pk),
        timeline_title=_("What happened on this case"),
    )
