import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from apps.core.request_context import client_ip_var, new_request_id, request_id_var, request_var

SESSION_STARTED_KEY = "_session_started_at"
SESSION_RENEWED_KEY = "_session_renewed_at"


class RequestContextMiddleware:
    """Assign a request id (kept from X-Request-ID when well-formed), note the client IP and
    keep the request at hand until its response is rendered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_request_id(request.headers.get("X-Request-ID"))
        rid_token = request_id_var.set(request.request_id)
        # REMOTE_ADDR is the proxy's address behind nginx; the proxy sets X-Real-IP.
        ip = request.META.get("HTTP_X_REAL_IP") if settings.PRODUCTION else None
        ip_token = client_ip_var.set(ip or request.META.get("REMOTE_ADDR"))
        request_token = request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(rid_token)
            client_ip_var.reset(ip_token)
            request_var.reset(request_token)
        response["X-Request-ID"] = request.request_id
        return response


class SessionLifetimeMiddleware:
    """Absolute session lifetime (MLPS / ASVS 7.3.2) and the sliding idle timeout.

    The idle timeout is the session's age (SESSION_COOKIE_AGE), renewed whenever the
    session is saved. Saving it on every request (SESSION_SAVE_EVERY_REQUEST) would cost a
    write transaction per page view; instead a request renews it when the last renewal is
    older than SESSION_RENEW_INTERVAL, so the idle timeout is exact to within that interval
    (one minute by default, against thirty).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(SESSION_STARTED_KEY)
            now = time.time()
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
                logout(request)
                return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.path})}")
            renewed = request.session.get(SESSION_RENEWED_KEY, 0)
            if now - renewed >= settings.SESSION_RENEW_INTERVAL:
                request.session[SESSION_RENEWED_KEY] = now  # modified: saved with a new expiry
        return self.get_response(request)
