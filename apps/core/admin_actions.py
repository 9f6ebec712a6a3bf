"""Per-object actions in the admin: a button on the change page, a small form, one service call.

Status changes happen only here (and in changelist actions), never by editing fields.
Each action form carries the version the user saw, so a stale submission is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.messages.storage.base import Message
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from apps.core.admin_desk import Panel
from apps.core.exceptions import DomainError, NotFoundForActor, NotPermitted
from apps.core.form_input import harden_form
from apps.core.text_limits import limit_text_fields


class ActionForm(forms.Form):
    """An action's small form. Its text fields without a limit of their own get the short
    one (apps.core.text_limits); a field for a long text states LONG_TEXT itself. Dates
    and pickers are hardened against values the code after them cannot use
    (apps.core.form_input)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, obj=None, user=None, **kwargs):
        self.obj, self.user = obj, user
        super().__init__(*args, **kwargs)
        limit_text_fields(self)
        harden_form(self)
        if obj is not None and not self.is_bound:
            self.fields["version"].initial = getattr(obj, "version", 0)


@dataclass(frozen=True)
class ShownOnce:
    """An action's success message that must not outlive the answer: a revealed contact.

    A message is kept until the next page (in the session, or a signed but readable
    cookie); this one is shown on the object's own page, rendered as the answer to the
    POST, not cached, and kept nowhere."""

    message: Any


@dataclass(frozen=True)
class ObjectAction:
    name: str
    label: Any
    form_class: type[ActionForm]
    perform: Callable  # perform(user, obj, cleaned_data) -> success message
    allowed: Callable  # allowed(user, obj) -> bool; decides whether the button shows
    style: str = ""  # "danger" for refusals


class ObjectActionsMixin:
    object_actions: list[ObjectAction] = []
    action_template = "admin/xlx/object_action.html"

    def get_object_actions(self, request, obj) -> list[ObjectAction]:
        return [a for a in self.object_actions if a.allowed(request.user, obj)]

    def get_urls(self):
        opts = self.model._meta
        extra = [
            path(
                f"<path:object_id>/do/{action.name}/",
                self.admin_site.admin_view(self._make_view(action)),
                name=f"{opts.app_label}_{opts.model_name}_{action.name}",
            )
            for action in self.object_actions
        ]
        return extra + super().get_urls()

    def _make_view(self, action: ObjectAction):
        def view(request, object_id):
            return self.object_action_view(request, object_id, action)

        return view

    def get_object_or_404(self, request, object_id):
        """The object, or 404 when it is missing or the user may not view it (the same
        answer: apps.core.admin_forms.HiddenObjectMixin)."""
        visible = getattr(self, "visible_object_or_404", None)
        if visible is not None:
            return visible(request, object_id)
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise Http404(_("No such object, or you may not see it."))
        return obj

    def object_action_buttons(self, request, obj) -> list[dict]:
        """The actions this user may take on `obj` now: label, style and URL of each."""
        opts = self.model._meta
        return [
            {
                "name": a.name,
                "label": a.label,
                "style": a.style,
                "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_{a.name}", args=[obj.pk]),
            }
            for a in self.get_object_actions(request, obj)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object_or_404(request, object_id)  # 404, not the admin's redirect
        extra_context = {**(extra_context or {}), "object_action_buttons": self.object_action_buttons(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self.get_object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def object_action_view(self, request, object_id, action: ObjectAction):
        obj = self.get_object_or_404(request, object_id)
        if not action.allowed(request.user, obj):
            raise PermissionDenied
        form = action.form_class(request.POST or None, obj=obj, user=request.user)
        opts = self.model._meta
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        if request.method == "POST" and form.is_valid():
            try:
                message = action.perform(request.user, obj, form.cleaned_data)
            except NotFoundForActor:
                raise Http404 from None
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from None
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if isinstance(message, ShownOnce):
                    return self._shown_once_response(request, object_id, message)
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(action)s: %(object)s") % {"action": action.label, "object": obj},
            "opts": opts,
            "original": obj,
            "object": obj,
            "form": form,
            "action": action,
            "change_url": change_url,
            "summary": self.action_panels(request, obj, action),
            # The form's widgets bring their scripts (autocomplete: select2 and jQuery).
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.action_template, context)

    def _shown_once_response(self, request, object_id, shown: ShownOnce):
        """The object's page as the answer to the action's POST, with `shown` among the
        messages (where the user looks for the outcome) and any messages still waiting."""
        request.__dict__.pop("_xlx_visible_object", None)  # the action changed it: read it anew
        page_request = copy.copy(request)
        page_request.method = "GET"  # the page itself is read-only (a case desk refuses POST)
        page_request.POST = QueryDict()
        waiting = list(messages.get_messages(request))
        context = {"messages": [*waiting, Message(messages.SUCCESS, shown.message)]}
        response = self.change_view(page_request, object_id, extra_context=context)
        add_never_cache_headers(response)  # nobody's cache keeps the number
        return response

    def action_summary(self, request, obj) -> list[tuple[str, Any]]:
        """(label, value) rows shown above every action form of `obj`."""
        return []

    def action_panels(self, request, obj, action: ObjectAction) -> list[Panel]:
        """What the user needs on the page to take `action` (default: the summary rows).
        Override to show more for one action, e.g. the reply on the review page."""
        rows = self.action_summary(request, obj)
        return [Panel("summary", _("The case"), rows)] if rows else []
