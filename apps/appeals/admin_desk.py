"""The appeal page as a case desk (apps.core.admin_desk): intake, dispatch and the whole
case at a glance for the centre and the city leaders. A fixed number of queries."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from apps.appeals import selectors
from apps.appeals.models import Appeal
from apps.authorization.display import approval_lines
from apps.casefile.timeline import case_timeline
from apps.core.admin_desk import Badge, Desk, Panel
from apps.core.timefmt import countdown, local_day, local_minute
from apps.followups.models import Visit
from apps.organization.models import User
from apps.tasks import sla
from apps.tasks.admin_desk import LIGHT_TONES, appeal_panel, citizen_text
from apps.tasks.models import Task

A = Appeal.Status
STATUS_TONES = {A.RECEIVED: "warn", A.DISPATCHED: "info", A.REVIEWED: "info", A.CLOSED: "ok", A.ANSWERED: "ok",
                A.REJECTED: "", A.MERGED: ""}


def next_step(appeal: Appeal, viewer) -> str:
    """What happens next, said to the person looking (the operator after recording)."""
    if appeal.status != A.RECEIVED:
        return ""
    if viewer.role == User.Role.OPERATOR:
        return _("It now waits for a dispatcher to dispatch it by the dispatch catalogue. If you can conclude it "
                 "now, answer it directly, merge it into an earlier appeal, or record it as not accepted.")
    if viewer.role == User.Role.DISPATCHER:
        return _("Dispatch it to the department the catalogue suggests, or choose others and say why.")
    return ""


def badges(appeal: Appeal) -> list[Badge]:
    result = [Badge(appeal.get_status_display(), STATUS_TONES.get(appeal.status, ""))]
    if appeal.priority in {"P0", "P1"}:
        result.append(Badge(appeal.get_priority_display(), "bad"))
    if appeal.is_escalated:
        result.append(Badge(_("escalated to the city government"), "bad"))
    if appeal.is_excluded_from_appraisal:
        result.append(Badge(_("excluded from appraisal"), ""))
    if appeal.is_confidential:
        result.append(Badge(_("confidential"), "info"))
    return result


def intake_panels(appeal: Appeal, viewer) -> list[Panel]:
    """While the appeal waits at the centre: what happens next, likely duplicates and what
    the dispatch catalogue suggests."""
    if appeal.status != A.RECEIVED:
        return []
    panels = [Panel("next", _("What happens next"), note=next_step(appeal, viewer))]
    duplicates = selectors.appeal_likely_duplicates(appeal)
    panels.append(Panel("duplicates", _("Likely duplicates (30 days)"), [
        (
            format_html('<a href="{}">{}</a>', reverse("admin:appeals_appeal_change", args=[d.pk]), d.tracking_number),
            f"{local_day(d.received_at)} · {d.category.name} · {d.get_status_display()}",
        )
        for d in duplicates
    ], note="" if duplicates else _("none found")))
    suggestion = selectors.dispatch_suggestion(category=appeal.category, area=appeal.area)
    panels.append(Panel("suggestion", _("The dispatch catalogue suggests"), [
        (_("lead department"), suggestion.lead.name if suggestion.lead else ""),
        (_("co-handling departments"), "、".join(d.name for d in suggestion.co)),
        (_("why"), suggestion.explanation),
    ]))
    return panels


def conclusion_panel(appeal: Appeal) -> Panel:
    return Panel("conclusion", _("Conclusion at intake"), [
        (_("direct answer"), appeal.answer),
        (_("lawful route"), appeal.get_reject_route_display() if appeal.reject_route else ""),
        (_("reason not accepted"), appeal.reject_reason),
        (_("merged into"), appeal.merged_into.tracking_number if appeal.merged_into_id else ""),
        (_("concluded"), " · ".join(p for p in (local_minute(appeal.concluded_at),
                                                 appeal.concluded_by.described() if appeal.concluded_by else "")
                                     if p)),
        (_("reason for exclusion"), appeal.exclusion_reason),
        (_("escalated at"), local_minute(appeal.escalated_at)),
        (_("closed at"), local_minute(appeal.closed_at)),
    ])


def work_orders_panel(tasks: list[Task], task_link) -> Panel:
    """Each work order with its state, time left and reply: the centre reviews from here."""
    rows = []
    for t in tasks:
        running = sla.running_deadlines(t)
        light = ""
        if running:
            colour = sla.light(t)
            light = format_html(' <span class="badge badge-{}"><span class="light-dot light-{}"></span>{}</span>',
                                LIGHT_TONES[colour], colour, countdown(min(running.values())))
        reopened = format_html(' <span class="badge badge-warn">{}</span>',
                               _("reopened ×%(n)d") % {"n": t.reopen_count}) if t.reopen_count else ""
        name = t.department.name
        url = task_link(t)
        head = format_html("<strong>{}</strong>", format_html('<a href="{}">{}</a>', url, name) if url else name)
        reply = ""
        if t.reply_text and t.status in {Task.Status.REPLIED, Task.Status.DONE}:
            reply = format_html('<div class="sub">{} {}: {}</div>', t.get_result_display(),
                                local_minute(t.replied_at), t.reply_text)
        rows.append((
            t.get_role_display(),
            format_html("{} · {}{}{}{}", head, t.get_status_display(), light, reopened, reply),
        ))
    return Panel("work-orders", _("Work orders"), rows)


def visits_panel(visits: list[Visit]) -> Panel:
    rows = []
    for v in visits:
        outcome = " · ".join(p for p in (
            v.get_status_display(),
            _("visit by %(date)s") % {"date": local_minute(v.due_at)} if v.status == Visit.Status.SCHEDULED else "",
            v.get_satisfaction_display() if v.satisfaction else "",
            (_("resolved") if v.resolved else _("not resolved")) if v.resolved is not None else "",
            v.get_fault_display() if v.fault else "",
            _("reopened the work order") if v.reopened else "",
        ) if p)
        words = format_html('<div class="sub">{}</div>', v.citizen_words) if v.citizen_words else ""
        rows.append((_("round %(n)d") % {"n": v.round}, format_html("{}{}", outcome, words)))
    return Panel("visits", _("Return visits"), rows)


def appeal_desk(appeal: Appeal, viewer, *, task_link) -> Desk:
    """The desk of one appeal for `viewer` (centre roles, city leaders, inspectors).
    `task_link(task)` gives the URL of a work order the viewer may open, or ""."""
    appeal = Appeal.objects.select_related(
        "category", "area", "received_by__department", "concluded_by__department", "merged_into",
    ).get(pk=appeal.pk)
    tasks = list(appeal.tasks.select_related("department").order_by("dispatched_at", "id"))
    visits = list(appeal.visits.order_by("round", "id"))
    approvals = approval_lines(appeal.approval_requests.all())
    facts = appeal_panel(appeal, viewer=viewer)
    facts.rows.append((_("received by"), appeal.received_by.described()))
    main = [
        *intake_panels(appeal, viewer),
        facts,
        conclusion_panel(appeal),
        work_orders_panel(tasks, task_link),
        visits_panel(visits),
    ]
    side = [
        Panel("citizen", _("Citizen"), [(_("citizen"), citizen_text(appeal))]),
        Panel("approvals", _("Requests for a leader's decision"),
              [("", format_html_join("", "{}", ((line,) for line in approvals)))] if approvals else []),
    ]
    return Desk(
        title=_("Appeal %(number)s") % {"number": appeal.tracking_number},
        subtitle=appeal.category.full_name or appeal.category.name,
        badges=badges(appeal),
        main=main,
        side=side,
        timeline=case_timeline(appeal.pk),
        timeline_title=_("What happened on this case"),
    )
