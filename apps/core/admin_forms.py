"""Admin forms whose save goes through a service.

The admin validates the form, then saves. A service can still refuse (a cycle in the
tree, a duplicate, a stale edit): to show that refusal on the form, with nothing written,
the service runs at the end of validation, in a savepoint; a DomainError becomes a form
error and the savepoint is rolled back. save_model() then only hands back the result.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_links import change_url_if_allowed
from apps.core.exceptions import DomainError
from apps.core.pagination import EstimatedCountPaginator
from apps.core.text_limits import SHORT_TEXT, limit_text_fields


class ServiceModelForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=SHORT_TEXT,
        help_text=_("Kept in the history and the action log."),
    )

    actor = None  # set by ServiceAdminMixin.get_form
    result = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Model fields carry their own max_length; extra text fields get the short limit.
        limit_text_fields(self)

    def run_service(self, *, actor, reason: str):
        """Call the service with cleaned_data; return the saved object."""
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        if self.errors or self.actor is None:
            return
        try:
            with transaction.atomic():
                self.result = self.run_service(actor=self.actor, reason=self.cleaned_data.get("change_reason", ""))
        except DomainError as exc:
            self.add_error(None, exc.message)


class ServiceAdminMixin:
    """For ModelAdmins whose forms are ServiceModelForms. Thin: no business logic here."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"actor": request.user})

    def save_form(self, request, form, change):
        return form.result

    def save_model(self, request, obj, form, change):
        pass  # the service saved it during validation

    def save_related(self, request, form, formsets, change):
        pass  # the service owns related writes (groups, paths)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would bypass history
        return actions


class LargeTableAdmin(admin.ModelAdmin):
    """Defaults for changelists that grow with the city: planner-estimated counts on
    PostgreSQL, no second full count, no facet counts, 50 rows a page.

    `list_defer` names columns the list never shows (long texts, also of the related rows
    in list_select_related, like "appeal__search_text"): the changelist does not fetch
    them, while the change page, which shares get_queryset, still loads whole rows.
    """

    paginator = EstimatedCountPaginator
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_defer: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        if not self.list_defer:
            return changelist
        defer = self.list_defer

        class DeferringChangeList(changelist):
            def get_queryset(self, request, exclude_parameters=None):
                return super().get_queryset(request, exclude_parameters).defer(*defer)

        return DeferringChangeList


class ReadOnlyAdminMixin:
    """Pages that only show: records written by services or sweeps (the action log,
    reminders, flags, outbox jobs), never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DefaultChoiceFilter(admin.SimpleListFilter):
    """A list filter whose first choice is what the page shows without a parameter (a
    worker's queue: open work orders, visits to make, requests waiting for me), with the
    other choices from lookups(). Subclasses say what the default is called
    (`default_label`) and filter in queryset() (value None = the default)."""

    default_label = _("all")

    def choices(self, changelist):
        if not self.lookup_choices:
            return
        yield {
            "selected": self.value() is None,
            "display": self.default_label,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "display": label,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
            }


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's pages, read-only and scoped.

    Its per-version page saves the old version on POST (a revert) even with
    SIMPLE_HISTORY_REVERT_DISABLED: that would change an object without its service,
    history reason or action-log entry. Here it refuses every POST, and like every other
    page answers 404 for an object the user may not see.

    Who may open an object's history is `may_open_history` (the history model's view
    permission, SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS): the history pages
    enforce it and the change page shows its History button by it. In the list of
    versions, "changed by" links to the staff page only for those who may open it.
    """

    object_history_list_template = "admin/simple_history/object_history_list.html"

    def may_open_history(self, request, obj=None) -> bool:
        """The one rule for an object's history pages and its History button."""
        return super().has_view_history_or_change_history_permission(request, obj)

    def has_view_history_or_change_history_permission(self, request, obj=None):
        return self.may_open_history(request, obj)  # what simple-history's pages ask

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["hide_history_link"] = change and not self.may_open_history(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        urls: dict[int, str] = {}
        for record in historical_records:
            user_id = record.history_user_id
            if user_id is not None and user_id not in urls:
                urls[user_id] = change_url_if_allowed(request, record.history_user, site=self.admin_site)
            record.history_user_url = urls.get(user_id, "")

    def render_history_view(self, request, template, context, **kwargs):
        # Versions print stored values (free text, the citizen's fields): shown masked.
        from apps.core.admin_desk import mask_page

        response = super().render_history_view(request, template, context, **kwargs)
        page = context.get("page_obj")
        shown = [context.get("original"), context.get("object"), *(page.object_list if page is not None else [])]
        return mask_page(response, shown)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        from django.contrib.admin.utils import unquote
        from django.core.exceptions import PermissionDenied
        from django.http import Http404

        if self.get_object(request, unquote(object_id)) is None:
            raise Http404
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        from django.contrib.admin.utils import unquote
        from django.http import Http404

        if self.get_object(request, unquote(object_id)) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)
