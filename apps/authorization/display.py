"""How requests for a leader's decision read on appeal and work-order pages: what was
asked, by whom, and who holds it now (named, with role and department) or who decided."""

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from apps.authorization.models import ApprovalRequest
from apps.authorization.selectors import approval_holders
from apps.core.personal_data import mask_text
from apps.core.timefmt import local_minute


def holders_text(holders) -> str:
    """"张三（部门负责人 · 市住建局）、李四（市领导 · 市人民政府）"."""
    return "、".join(u.described() for u in holders)


def approval_lines(requests) -> list:
    """One line per request (two queries): kind, state, who asked and why, and who holds
    it or who decided with their comment."""
    rows = list(
        requests.select_related("requested_by__department", "decided_by__department").order_by("requested_at", "id")
    )
    pending = [r.pk for r in rows if r.status == ApprovalRequest.Status.PENDING]
    holders = approval_holders(pending) if pending else {}
    lines = []
    for r in rows:
        asked = format_html(
            "<strong>{}</strong> · {}{} · {} {} ({}): {}",
            r.get_kind_display(),
            r.get_status_display(),
            format_html(" · {}", _("%(n)d working days") % {"n": r.extension_days}) if r.extension_days else "",
            _("asked by"),
            r.requested_by.described(),
            local_minute(r.requested_at),
            mask_text(r.reason),  # free text: a number typed into it is shown masked
        )
        if r.status == ApprovalRequest.Status.PENDING:
            held = holders_text(holders.get(r.pk, [])) or _("the city leaders")
            outcome = format_html('<div class="sub">{} {}</div>', _("waiting for the decision of"), held)
        elif r.decided_by_id:
            outcome = format_html(
                '<div class="sub">{} {} ({}): {}</div>',
                _("decided by"),
                r.decided_by.described(),
                local_minute(r.decided_at),
                mask_text(r.comment),
            )
        else:
            outcome = ""
        lines.append(format_html("<div>{}{}</div>", asked, outcome))
    return lines


def approvals_html(requests):
    lines = approval_lines(requests)
    return format_html_join("", "{}", ((line,) for line in lines)) if lines else ""
