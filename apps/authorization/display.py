"""How requests and decisions show on appeal and work-order pages (one query)."""

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _


def approvals_html(requests):
    rows = list(requests.select_related("requested_by", "decided_by").order_by("requested_at", "id"))
    if not rows:
        return "-"

    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    return format_html_join(
        "",
        "<div>{} · {} · {} {} ({}) · {}{}</div>",
        (
            (
                r.get_kind_display(),
                r.get_status_display(),
                _("asked by"),
                r.requested_by,
                when(r.requested_at),
                r.reason,
                format_html(" → {} {} ({}): {}", _("decided by"), r.decided_by, when(r.decided_at), r.comment)
                if r.decided_by_id
                else "",
            )
            for r in rows
        ),
    )
