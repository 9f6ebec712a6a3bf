"""The back office's admin site: the workbench on the index, the calendar warning, and
the page each role lands on after logging in.

It lives in the project package, not in apps/core, because it knows the roles
(apps.organization), and apps/core imports no domain app.
"""

from __future__ import annotations

from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from apps.core.working_calendar import years_missing_schedule
from apps.organization.models import User
from apps.organization.roles import LANDING, WORKBENCH


def landing_url(user) -> str:
    """The page `user` lands on after logging in: their role's main page, or the workbench."""
    return reverse(LANDING.get(getattr(user, "role", ""), "admin:index"))


class RoleLandingLoginView(LoginView):
    """The admin login: a safe ?next= wins; without one (or with an unsafe one) each role
    lands on its main page."""

    def get_default_redirect_url(self):
        return landing_url(self.request.user)


class BackofficeAdminSite(admin.AdminSite):
    site_header = _("Xinlianxin citizen service centre")
    site_title = _("Xinlianxin back office")
    index_title = _("Workbench")
    # No "View site" link: the site is this admin ("/" leads back to the workbench).
    site_url = None

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

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)
        if view != self.index:
            return guarded

        # Visitors of the workbench (/admin/, where / leads) who are not signed in go to the
        # login without ?next=/admin/, so that they land on their role's main page.
        def index(request, *args, **kwargs):
            if not self.has_permission(request):
                return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
            return guarded(request, *args, **kwargs)

        return update_wrapper(index, guarded)

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        """AdminSite.login with RoleLandingLoginView (Django's hard-codes LoginView), and
        without its default ?next= (the workbench): the landing page is the default."""
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(landing_url(request.user))
        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return RoleLandingLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
        )(request)

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
