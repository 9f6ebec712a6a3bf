"""The case desk: an object's admin page as the place a user works the case.

Instead of Django's wall of read-only fields, a desk page shows, top to bottom: a header
(what it is, its state, the time left), the actions this user may take now, panels of the
facts needed for the decision (empty facts left out), and the running record of the case.
Apps say what goes in (`CaseDeskMixin.build_desk`); this module only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeData, mark_safe

from apps.core.personal_data import mask_address, mask_id_number, mask_name, mask_phone, mask_text

EMPTY = (None, "", [], ())
# A citizen's own fields, by name, and how each is shown (never whole outside a reveal).
CITIZEN_FIELD_MASKS = {
    "citizen_name": mask_name,
    "citizen_phone": mask_phone,
    "citizen_id_number": mask_id_number,
    "address": mask_address,
}


def shown(value):
    """`value` as a page shows it: every phone and ID number in its text masked (stored
    whole; PIPL Art. 51). Safe HTML stays safe (only digits become "*"); anything not
    text (a number, a date) is returned as it is."""
    if isinstance(value, Promise):
        value = str(value)
    if not isinstance(value, str):
        return value
    masked = mask_text(value)
    return mark_safe(masked) if isinstance(value, SafeData) else masked


@dataclass
class Badge:
    text: Any
    tone: str = ""  # "", "ok", "warn", "bad", "info"
    title: Any = ""


@dataclass
class Panel:
    key: str
    title: Any
    rows: list[tuple[Any, Any]] = field(default_factory=list)
    tone: str = ""  # "warn" draws the eye (a reopened work order, a missed limit)
    note: Any = ""  # a line under the title
    # Only the page answering a logged reveal sets this: its rows are shown whole.
    # Every other panel's labels, values and note are masked when rendered
    # (templates/admin/xlx/panel.html, the `masked` filter), rows added later included.
    revealed: bool = False

    def __post_init__(self):
        # Facts not recorded are left out rather than shown as a wall of "-".
        self.rows = [(label, value) for label, value in self.rows if value not in EMPTY]

    @property
    def is_empty(self) -> bool:
        return not self.rows and not self.note


@dataclass
class Desk:
    title: Any
    subtitle: Any = ""
    badges: list[Badge] = field(default_factory=list)
    main: list[Panel] = field(default_factory=list)
    side: list[Panel] = field(default_factory=list)
    timeline: list = field(default_factory=list)  # apps.casefile Entry objects
    timeline_title: Any = ""
    links: list[tuple[Any, str]] = field(default_factory=list)  # (label, url) beside the actions


def mask_page(response, objects=()):
    """A rendered read-only page (simple-history's versions, whose templates print field
    values as they were) as it may be shown: every phone and ID number masked, and each
    citizen field of `objects` (the versions on the page) replaced by its mask wherever it
    appears. Only for pages that take no input: a form's values would be saved masked."""
    from django.utils.html import escape

    html = response.content.decode(response.charset or "utf-8")
    values = {}
    for obj in objects:
        for name, mask in CITIZEN_FIELD_MASKS.items():
            value = getattr(obj, name, None)
            if isinstance(value, str) and value.strip():
                values[value] = mask(value)
    for value in sorted(values, key=len, reverse=True):  # an address before the street it holds
        for form in {value, escape(value)}:
            html = html.replace(form, values[value])
    response.content = mask_text(html).encode(response.charset or "utf-8")
    return response


class CaseDeskMixin:
    """For an ObjectActionsMixin admin whose change page is a desk. Subclasses implement
    build_desk(request, obj) -> Desk. The page is read-only: a POST is refused (changes
    go through the action buttons, each a form and one service)."""

    desk_template = "admin/xlx/case_desk.html"

    def build_desk(self, request, obj) -> Desk:
        raise NotImplementedError

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in {"GET", "HEAD"}:
            return HttpResponseNotAllowed(["GET"])
        obj = self.get_object_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        desk = self.build_desk(request, obj)
        opts = self.model._meta
        links = list(desk.links)
        if self.has_view_history_or_change_history_permission(request, obj):
            links.append((_history_label(), reverse(f"admin:{opts.app_label}_{opts.model_name}_history",
                                                     args=[obj.pk])))
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "title": desk.title,
            "subtitle": str(obj),
            "opts": opts,
            "app_label": opts.app_label,
            "original": obj,
            "desk": desk,
            "actions": self.object_action_buttons(request, obj),
            "links": links,
            "media": self.media,
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.desk_template, context)


def _history_label():
    from django.utils.translation import gettext

    return gettext("History")
