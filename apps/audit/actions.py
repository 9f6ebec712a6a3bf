"""What each action-log code means, in the reader's language.

Services write stable codes ("task.extended"); inspectors and the audit admin read these
labels. `tests/audit/test_action_labels.py` fails when a service writes a code that has
no label here.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    # Intake and the appeal
    "appeal.received": _("appeal received"),
    "appeal.dispatched": _("appeal dispatched"),
    "appeal.answered": _("appeal answered directly"),
    "appeal.rejected": _("appeal not accepted"),
    "appeal.merged": _("appeal merged into an earlier one"),
    "appeal.reviewed": _("all replies accepted"),
    "appeal.reopened": _("appeal reopened after the return visit"),
    "appeal.closed": _("appeal closed"),
    "appeal.escalated": _("appeal escalated to the city government"),
    "appeal.excluded_from_appraisal": _("appeal excluded from appraisal"),
    "appeal.contact_revealed": _("citizen's contact details shown"),
    "appeal.searched_by_contact": _("appeals searched by a citizen's phone or ID number"),
    "appeal.personal_data_anonymised": _("personal data of closed appeals anonymised"),
    # Work orders
    "task.dispatched": _("work order dispatched"),
    "task.signed": _("work order signed for"),
    "task.contacted": _("citizen contacted"),
    "task.replied": _("reply sent"),
    "task.reply_accepted": _("reply accepted"),
    "task.reply_sent_back": _("reply sent back"),
    "task.return_requested": _("return requested"),
    "task.return_approved": _("return approved"),
    "task.return_rejected": _("return refused"),
    "task.reassigned": _("work order reassigned"),
    "task.extended": _("time limit extended"),
    "task.closed_unresolvable": _("closed as not resolvable"),
    "task.escalated": _("work order put on the 24-hour limit"),
    "task.reopened": _("work order reopened (重办)"),
    "task.limit_missed": _("time limit missed"),
    "task.reminded": _("reminder issued (催办)"),
    # Leadership
    "approval.requested": _("approval requested"),
    "approval.routed": _("approval request passed up"),
    "approval.approved": _("request approved"),
    "approval.rejected": _("request refused"),
    "approval.withdrawn": _("approval request withdrawn"),
    "delegation.granted": _("authority delegated"),
    "delegation.revoked": _("delegation revoked"),
    "instruction.issued": _("instruction issued (批示)"),
    "instruction.acknowledged": _("instruction acknowledged"),
    "instruction.acted_on": _("action on an instruction reported"),
    "rule_adaptation.issued": _("rule adaptation issued (变通)"),
    "rule_adaptation.revoked": _("rule adaptation revoked"),
    "consultation.opened": _("consultation opened (会商)"),
    "consultation.opinion_given": _("consultation opinion given"),
    "consultation.opinion_revised": _("consultation opinion revised"),
    "consultation.concluded": _("consultation concluded"),
    # Return visits
    "visit.scheduled": _("return visit scheduled"),
    "visit.call_started": _("return-visit call started"),
    "visit.not_reached": _("citizen not reached"),
    "visit.unreachable": _("closed as unreachable"),
    "visit.recorded": _("return visit recorded"),
    "visit.reopen_leader_notified": _("department leader told of a second reopening"),
    "visit.formality_sweep": _("formality checks run"),
    # Supervision
    "supervision.reminder_raised": _("reminder case raised (催办)"),
    "supervision.notice_raised": _("supervision notice raised (督办)"),
    "supervision.criticism_raised": _("listed for public criticism (通报)"),
    "supervision.answered": _("rectification note given"),
    "supervision.history_exported": _("history exported"),
    "accountability.recorded": _("accountability finding recorded (问责)"),
    "accountability.updated": _("accountability record changed"),
    "accountability.closed": _("accountability record closed"),
    # Reference data and staff
    "area.created": _("area created"),
    "area.updated": _("area changed"),
    "department.created": _("department created"),
    "department.updated": _("department changed"),
    "department.activated": _("department reactivated"),
    "department.deactivated": _("department deactivated"),
    "staff.created": _("staff account created"),
    "staff.updated": _("staff account changed"),
    "staff.assigned": _("staff role or department changed"),
    "staff.activated": _("staff account reactivated"),
    "staff.deactivated": _("staff account deactivated"),
    "staff.password_set": _("password set"),
    "staff.unlocked": _("account unlocked"),
    "staff.second_factor_reset": _("second factor reset (authenticator removed)"),
    "category.saved": _("category saved"),
    "dispatch_rule.saved": _("dispatch rule saved"),
    "sla_rule.saved": _("time-limit rule saved"),
    "calendar.year_saved": _("calendar year saved"),
    "calendar.day_saved": _("calendar day saved"),
    "calendar.day_deleted": _("calendar day removed"),
    # Security and the record itself
    "auth.login": _("logged in"),
    "auth.logout": _("logged out"),
    "auth.login_failed": _("login failed"),
    "auth.locked_out": _("account locked after failed logins"),
    "auth.second_factor_passed": _("second factor passed"),
    "auth.second_factor_failed": _("wrong second-factor code"),
    "auth.second_factor_enrolled": _("second-factor device enrolled"),
    "auth.password_changed": _("own password changed"),
    "core.data_key_rotated": _("personal data re-encrypted with the newest key"),
    "audit.chain_verified": _("action log verified"),
}


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def action_choices() -> list[tuple[str, str]]:
    """(code, label) pairs sorted by code, grouping the kinds of object together."""
    return [(code, f"{label} ({code})") for code, label in sorted(ACTION_LABELS.items())]
