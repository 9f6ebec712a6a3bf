"""The work-order page as a case desk (apps.core.admin_desk): what a department, the
centre or a leader needs on one page to act on a work order.

A fixed number of queries whatever the case's size: the work order with its appeal and
people, its visits, requests (+ who holds them), the appeal's other work orders and the
running record (one query, plus names of the codes it holds).
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from apps.authorization.display import approval_lines
from apps.casefile.timeline import case_timeline
from apps.core.admin_desk import Badge, Desk, Panel
from apps.core.personal_data import mask_address, mask_id_number, mask_name, mask_phone, mask_text
from apps.core.related_rows import fill_foreign_keys
from apps.core.timefmt import countdown, local_minute
from apps.followups.models import Visit
from apps.organization.models import User
from apps.tasks import permissions, sla
from apps.tasks.models import Task

S = Task.Status
LIGHT_TONES = {"green": "ok", "yellow": "warn", "red": "bad"}
STATUS_TONES = {S.PENDING_SIGN: "warn", S.IN_PROGRESS: "info", S.RETURN_REQUESTED: "warn", S.REPLIED: "info",
                S.DONE: "ok", S.RETURNED: ""}


def _who(user) -> str:
    return user.described() if user is not None else ""


def when_by(at, user) -> str:
    """"2026-11-30 14:05 · 张伟（承办人 · 市住建局）"."""
    if at is None:
        return ""
    return " · ".join(p for p in (local_minute(at), _who(user)) if p)


# Who reads the full address (the centre records it and calls back); departments, leaders
# and inspectors read it to the street (PIPL Art. 6: what the task needs).
FULL_ADDRESS_ROLES = {User.Role.OPERATOR, User.Role.DISPATCHER, User.Role.VISIT_AGENT}


def citizen_text(appeal) -> str:
    """The citizen as this page may show them: masked, or why not at all (a confidential
    complainant's identity, even masked, never reaches a desk: 保密)."""
    if appeal.is_anonymous:
        return _("anonymous")
    if appeal.is_confidential:
        return _("confidential: the centre contacts the citizen")
    id_number = getattr(appeal, "citizen_id_number", "")  # the field may not exist yet
    return " ".join(p for p in (mask_name(appeal.citizen_name), mask_phone(appeal.citizen_phone),
                                mask_id_number(id_number) if id_number else "") if p)


def address_text(appeal, viewer=None) -> str:
    """The address as `viewer` may read it: whole for the centre (numbers typed into it
    masked all the same), to the street for everyone else (and when nobody is named)."""
    if viewer is not None and getattr(viewer, "role", None) in FULL_ADDRESS_ROLES:
        return mask_text(appeal.address)
    return mask_address(appeal.address)


def appeal_panel(appeal, *, link: str = "", viewer=None) -> Panel:
    number = format_html('<a href="{}">{}</a>', link, appeal.tracking_number) if link else appeal.tracking_number
    return Panel("appeal", _("The appeal"), [
        (_("tracking number"), number),
        (_("content"), appeal.content),
        (_("category"), appeal.category.full_name or appeal.category.name),
        (_("appeal type"), appeal.get_appeal_type_display()),
        (_("priority"), appeal.get_priority_display()),
        (_("area"), " ".join(p for p in (appeal.area.name, address_text(appeal, viewer)) if p)),
        (_("channel"), appeal.get_channel_display()),
        (_("received at"), local_minute(appeal.received_at)),
    ])


def limits_panel(task: Task) -> Panel:
    """The three limits with what is left of them, or how they were met or missed."""
    done = {"sign": task.signed_at, "contact": task.contacted_at, "resolve": task.replied_at}
    labels = {"sign": _("sign for by"), "contact": _("contact the citizen by"), "resolve": _("resolve by")}
    running = sla.running_deadlines(task)
    rows = []
    for kind, field in sla.DUE_FIELD.items():
        due = getattr(task, field)
        if kind in running:
            state = countdown(due)
        elif done[kind] is not None:
            state = countdown(due, done=done[kind])
        else:
            state = ""  # not running and not done: handed on, or stopped by a reply
        missed = getattr(task, sla.OVERDUE_FIELD[kind])
        text = " · ".join(p for p in (local_minute(due), state) if p)
        if missed is not None and kind in running:
            text = format_html('<span class="badge badge-bad">{}</span>', text)
        rows.append((labels[kind], text))
    if task.extended_days:
        rows.append((_("extended"), _("%(n)d working days, approved") % {"n": task.extended_days}))
    return Panel("limits", _("Time limits"), rows)


def reopen_panel(task: Task, visits: list[Visit]) -> Panel | None:
    """Why the work order is back: each unsatisfied visit that reopened it, in the
    citizen's words, with the cause the agent recorded."""
    if not task.reopen_count:
        return None
    reopening = [v for v in visits if v.reopened]
    rows = [(_("times reopened"), str(task.reopen_count))]
    for visit in reopening:
        rows += [
            (_("return visit"), when_by(visit.completed_at, visit.completed_by)),
            (_("satisfaction"), visit.get_satisfaction_display()),
            (_("resolved"), _("yes") if visit.resolved else _("no") if visit.resolved is False else ""),
            (_("the citizen's words"), visit.citizen_words),
            (_("cause"), visit.get_fault_display() if visit.fault else ""),
            (_("note on the cause"), visit.fault_note),
        ]
    return Panel("reopen", _("Reopened after the return visit (重办)"), rows, tone="warn",
                 note=_("The citizen was not satisfied. Contact them again and reply anew."))


def dispatch_panel(task: Task, others: list[Task]) -> Panel:
    co = [t for t in others if t.role == Task.Role.CO]
    lead = next((t for t in others if t.role == Task.Role.LEAD), None)
    return Panel("dispatch", _("Dispatch"), [
        (_("dispatched"), when_by(task.dispatched_at, task.dispatched_by)),
        (_("role"), task.get_role_display()),
        (_("dispatch note"), task.dispatch_note),
        (_("lead department"), lead.department.name if lead and task.role == Task.Role.CO else ""),
        (_("co-handling departments"), "、".join(t.department.name for t in co) if task.role == Task.Role.LEAD
         else ""),
    ])


def handling_panel(task: Task) -> Panel:
    contact = ""
    if task.contacted_at:
        contact = " · ".join(p for p in (local_minute(task.contacted_at), task.get_contact_method_display(),
                                         _who(task.contacted_by)) if p)
    return Panel("handling", _("Handling"), [
        (_("signed for"), when_by(task.signed_at, task.signed_by)),
        (_("citizen contacted"), contact),
        (_("what was said or agreed"), task.contact_note),
        (_("reply sent"), when_by(task.replied_at, task.replied_by)),
        (_("result"), task.get_result_display() if task.result else ""),
        (_("reply to the citizen") if task.replied_at else _("last reply"), task.reply_text),
        (_("policy or legal basis"), task.policy_basis),
        (_("reviewed"), when_by(task.reviewed_at, task.reviewed_by)),
        (_("review comment"), task.review_comment),
        (_("times sent back by review"), str(task.sent_back_count) if task.sent_back_count else ""),
        (_("return requested"), when_by(task.return_requested_at, task.return_requested_by)),
        (_("return reason"), task.return_reason),
        (_("return decided"), when_by(task.return_decided_at, task.return_decided_by)),
        (_("return decision comment"), task.return_decision_comment),
    ])


def reply_panel(task: Task) -> Panel:
    """What the dispatcher reviews: the department's reply and its contact record."""
    contact = ""
    if task.contacted_at:
        contact = " · ".join(p for p in (local_minute(task.contacted_at), task.get_contact_method_display(),
                                         _who(task.contacted_by)) if p)
    return Panel("reply", _("The department's reply"), [
        (_("department"), task.department.name),
        (_("reply sent"), when_by(task.replied_at, task.replied_by)),
        (_("result"), task.get_result_display() if task.result else ""),
        (_("reply to the citizen"), task.reply_text),
        (_("policy or legal basis"), task.policy_basis),
        (_("citizen contacted"), contact),
        (_("what was said or agreed"), task.contact_note),
        (_("times sent back by review"), str(task.sent_back_count) if task.sent_back_count else ""),
        (_("last review comment"), task.review_comment),
    ])


def others_panel(others: list[Task]) -> Panel:
    """Who else is on the case: the other departments' work orders by name and state only."""
    rows = [
        (t.department.name, f"{t.get_role_display()} · {t.get_status_display()}")
        for t in others
    ]
    return Panel("others", _("Other work orders of this appeal"), rows)


def task_badges(task: Task) -> list[Badge]:
    badges = [Badge(task.get_status_display(), STATUS_TONES.get(task.status, ""))]
    running = sla.running_deadlines(task)
    if running:
        colour = sla.light(task)
        due = min(running.values())
        badges.append(Badge(
            format_html('<span class="light-dot light-{}"></span>{}', colour, countdown(due)),
            LIGHT_TONES[colour], Task.Light(colour).label,
        ))
    if task.reopen_count:
        badges.append(Badge(_("reopened ×%(n)d") % {"n": task.reopen_count}, "warn"))
    appeal = task.appeal
    if appeal.is_escalated:
        badges.append(Badge(_("escalated: 24-hour limit"), "bad"))
    if appeal.priority in {"P0", "P1"}:
        badges.append(Badge(appeal.get_priority_display(), "bad"))
    if task.role == Task.Role.CO:
        badges.append(Badge(_("co-handling"), "info"))
    return badges


def task_desk(task: Task, viewer, *, appeal_link: str = "") -> Desk:
    """The desk of one work order for `viewer` (department readers see what concerns their
    department in the record; the centre and leaders, the whole case)."""
    task = Task.objects.select_related("appeal__category", "appeal__area", "department").get(pk=task.pk)
    # The people named on the desk in one query, not seven more joins (apps.core.related_rows).
    fill_foreign_keys(
        [task],
        ["dispatched_by", "signed_by", "contacted_by", "replied_by", "reviewed_by", "return_requested_by",
         "return_decided_by"],
        select_related={User: ["department"]},
    )
    appeal = task.appeal
    visits = list(task.visits.select_related("completed_by__department").order_by("round", "id"))
    others = list(
        Task.objects.filter(appeal=appeal).exclude(pk=task.pk).select_related("department").order_by("dispatched_at")
    )
    is_department = viewer.role in permissions.DEPARTMENT_ROLES
    approvals = approval_lines(task.approval_requests.all())
    main = [p for p in (
        reopen_panel(task, visits),
        appeal_panel(appeal, link=appeal_link, viewer=viewer),
        handling_panel(task),
        dispatch_panel(task, others),
    ) if p is not None]
    side = [
        limits_panel(task),
        Panel("citizen", _("Citizen"), [(_("citizen"), citizen_text(appeal))]),
        Panel("approvals", _("Requests for a leader's decision"),
              [("", format_html_join("", "{}", ((line,) for line in approvals)))] if approvals else []),
        others_panel(others),
    ]
    department_ids = [viewer.department_id] if is_department else None
    return Desk(
        title=_("Work order %(number)s") % {"number": appeal.tracking_number},
        subtitle=f"{task.department.name} · {task.get_role_display()}",
        badges=task_badges(task),
        main=main,
        side=side,
        timeline=case_timeline(appeal.pk, department_ids=department_ids),
        timeline_title=_("What happened on this case"),
    )
