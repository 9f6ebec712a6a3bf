"""The 500 handler: the product's page, with the request id to quote to the administrator.

Django's own handler renders 500.html the same way, without a request (no context
processors: the user, the session or the database may be what failed); this one only adds
the request id, which the log lines of the failed request carry too.
"""

from __future__ import annotations

from django.http import HttpResponseServerError
from django.template import TemplateDoesNotExist, loader
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from apps.core.request_context import current_request_id


@requires_csrf_token
def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    try:
        template = loader.get_template(template_name)
    except TemplateDoesNotExist:
        return defaults.server_error(request, template_name)
    request_id = getattr(request, "request_id", "") or current_request_id()
    return HttpResponseServerError(template.render({"request_id": request_id}))
