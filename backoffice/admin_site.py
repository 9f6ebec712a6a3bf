"""The back office's admin site: the workbench on the index and the calendar warning.

It lives in the project package, not in apps/core, because it knows the roles
(apps.organization), and apps/core imports no domain app.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.working_calendar import years_missing_schedule
from apps.organization.models import User
from apps.organization.roles import WORKBENCH


class BackofficeAdminSite(admin.AdminSite):
    site_header = _("Xinlianxin citizen service centre")
    site_title = _("Xinlianxin back office")
    index_title = _("Workbench")

    def each_context(self, request):
        context = super().each_context(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            context["calendar_missing_years"] = self._calendar_warning(user)
        return context

    def _calendar_warning(self, user) -> list[int]:
        # Only those who can fix it, and those whose deadlines it affects, need the warning.
        if not (user.has_perm("core.change_calendaryear") or user.has_perm("core.view_calendaryear")):
            return []
        return years_missing_schedule()

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "workbench": self._workbench(request)}
        return super().index(request, extra_context)

    def _workbench(self, request) -> dict:
        user = request.user
        role = getattr(user, "role", "")
        links = []
        for label, url_name, query in WORKBENCH.get(role, []):
            try:
                links.append({"label": label, "url": reverse(url_name) + query})
            except NoReverseMatch:
                continue
        unread = user.notifications.filter(read_at__isnull=True).count() if user.is_authenticated else 0
        return {
            "role": User.Role(role).label if role else "",
            "department": getattr(user, "department", None),
            "links": links,
            "unread": unread,
            "inbox_url": reverse("admin:notifications_notification_changelist"),
        }
