"""Per-request (or per-task) context: request id, client address and the request itself.

Stored in context variables so the action log and the log formatter can read them from
anywhere without passing the request down through services. The request is there for the
admin's links to other objects (apps/core/admin_links.py), which Django renders without it.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from django.http import HttpRequest

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
request_var: ContextVar[HttpRequest | None] = ContextVar("request", default=None)

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Keep a well-formed id from the proxy (X-Request-ID), else make one."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


def current_client_ip() -> str | None:
    return client_ip_var.get()


def current_request() -> HttpRequest | None:
    """The request being answered (None in Celery tasks and commands)."""
    return request_var.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get() or "-"
        return True
