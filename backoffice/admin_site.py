"""The back office's admin site: the workbench on the index, the calendar warning, and
the page each role lands on after logging in.

It lives in the project package, not in apps/core, because it knows the roles
(apps.organization), and apps/core imports no domain app.
"""

from __future__ import annotations

from functools import update_wrapper
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.db.models.base import ModelBase
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from apps.core.working_calendar import years_missing_schedule
from apps.organization import second_factor
from apps.organization.forms import OwnPasswordChangeForm, SecondFactorForm
from apps.organization.login import is_locked
from apps.organization.models import User
from apps.organization.roles import LANDING, WORKBENCH


def landing_url(user) -> str:
    """The page `user` lands on after logging in: their role's main page, or the workbench."""
    return reverse(LANDING.get(getattr(user, "role", ""), "admin:index"))


def second_factor_url(user, next_url: str = "") -> str:
    """The page that asks `user` for a code: the code page, or the enrolment page while
    they have no confirmed device."""
    name = "admin:login_code" if second_factor.confirmed_device(user) else "admin:login_enrol"
    return reverse(name) + (f"?{urlencode({'next': next_url})}" if next_url else "")


class RoleLandingLoginView(LoginView):
    """The admin login: a safe ?next= wins; without one (or with an unsafe one) each role
    lands on its main page. Roles that need a second factor go on to the code page (with
    the same destination), logged in but refused by every admin page until it is passed."""

    def get_default_redirect_url(self):
        return landing_url(self.request.user)

    def form_valid(self, form):
        user = form.get_user()
        auth_login(self.request, user)
        if second_factor.requires_second_factor(user) and not second_factor.is_verified(self.request):
            return HttpResponseRedirect(second_factor_url(user, self.get_success_url()))
        return HttpResponseRedirect(self.get_success_url())


# Models that third-party apps register on the admin but that stay out of it: TOTP devices
# hold the second factor's keys and are made and confirmed only by the login's own pages
# (apps.organization.second_factor).
KEPT_OUT_OF_THE_ADMIN = frozenset({"otp_totp.totpdevice"})


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

    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, ModelBase) else list(model_or_iterable)
        kept = [m for m in models if m._meta.label_lower not in KEPT_OUT_OF_THE_ADMIN]
        if kept:
            super().register(kept, admin_class, **options)

    def has_permission(self, request):
        # Leaders, inspectors and administrators: only once this session passed the code.
        return super().has_permission(request) and second_factor.second_factor_done(request)

    def get_urls(self):
        own = [
            path("login/code/", self.second_factor_view, {"enrolling": False}, name="login_code"),
            path("login/enrol/", self.second_factor_view, {"enrolling": True}, name="login_enrol"),
        ]
        return own + super().get_urls()

    @method_decorator(sensitive_post_parameters("code"))
    @method_decorator(csrf_protect)
    @method_decorator(never_cache)
    @login_not_required
    def second_factor_view(self, request, enrolling: bool):
        """The second step of the login: a code from the authenticator app, or (no device
        yet) the enrolment: the QR code and the key, confirmed by a first code."""
        user = request.user
        next_url = request.POST.get("next", request.GET.get("next", ""))
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = ""
        if not user.is_authenticated:
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        if not second_factor.requires_second_factor(user) or second_factor.is_verified(request):
            return HttpResponseRedirect(next_url or landing_url(user))
        if request.method == "POST" and request.POST.get("cancel"):
            return self._drop_half_login(request)
        device = second_factor.confirmed_device(user)
        if enrolling != (device is None):  # the other page fits this user's state
            return HttpResponseRedirect(second_factor_url(user, next_url))
        if is_locked(request, user.get_username()):
            # The lockout page (axes), and the half-done login is dropped.
            request.axes_locked_out = True
            self._drop_half_login(request)
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        if enrolling:
            device = second_factor.pending_device(user)
        form = SecondFactorForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if second_factor.verify(request, user, device, form.cleaned_data["code"], enrolling=enrolling):
                return HttpResponseRedirect(next_url or landing_url(user))
            if getattr(request, "axes_locked_out", False):
                self._drop_half_login(request)  # AxesMiddleware answers with the lockout page
            form.add_error("code", _("The code is wrong or has already been used. Enter the current code."))
        context = {
            **self.each_context(request),
            "title": _("Set up the second factor") if enrolling else _("Enter your code"),
            "subtitle": None,
            "form": form,
            "next": next_url,
            "enrolling": enrolling,
            "qr_svg": second_factor.qr_svg(device) if enrolling else "",
            "secret": second_factor.secret_of(device) if enrolling else "",
            "username": user.get_username(),
        }
        request.current_app = self.name
        return TemplateResponse(request, "registration/second_factor.html", context)

    def _drop_half_login(self, request):
        # No "logged out" entry: this session never got past the second factor.
        request.session.flush()
        request.user = AnonymousUser()
        return HttpResponseRedirect(reverse("admin:login", current_app=self.name))

    def password_change(self, request, extra_context=None):
        """Django's admin password change, with the form that saves through the service
        (action log) and the history check."""
        request.current_app = self.name
        return PasswordChangeView.as_view(
            form_class=OwnPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

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
        if (
            request.method == "GET"
            and request.user.is_authenticated
            and request.user.is_active
            and request.user.is_staff
            and not second_factor.second_factor_done(request)
        ):
            # Password given, code not yet: back to the code page, keeping where they go.
            return HttpResponseRedirect(second_factor_url(request.user, request.GET.get("next", "")))
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
