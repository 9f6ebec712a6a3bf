"""Admin forms whose save goes through a service.

The admin validates the form, then saves. A service can still refuse (a cycle in the
tree, a duplicate, a stale edit): to show that refusal on the form, with nothing written,
the service runs at the end of validation, in a savepoint; a DomainError becomes a form
error and the savepoint is rolled back. save_model() then only hands back the result.
"""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.filters import ListFilter
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NotRelationField, get_fields_from_path, unquote
from django.contrib.admin.views.main import ORDER_VAR
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F
from django.http import Http404
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_links import change_url_if_allowed
from apps.core.exceptions import DomainError
from apps.core.form_input import DATE_MAX, DATE_MIN, harden_field, harden_form
from apps.core.pagination import EstimatedCountPaginator
from apps.core.personal_fields import personal_field_in_path
from apps.core.related_rows import fill_foreign_keys
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
        harden_form(self)  # dates in range, pickers that survive a refused id

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


# --- No side door to personal data --------------------------------------------------------------
# Every admin of the product inherits PersonalDataGuardMixin (through LargeTableAdmin,
# HistoryAdmin or ReadOnlyAdminMixin; tests/security/test_side_doors.py checks the registry).


def _order_paths(order_field) -> list[str]:
    """The field paths an ordering (a name, "-name", F() or OrderBy expression) sorts by."""
    if not order_field:
        return []
    if isinstance(order_field, str):
        return [order_field]
    if hasattr(order_field, "flatten"):
        return [expr.name for expr in order_field.flatten() if isinstance(expr, F)]
    return []


def _personal_order(model, order_field) -> str | None:
    for path in _order_paths(order_field):
        found = personal_field_in_path(model, path)
        if found:
            return found
    return None


def personal_data_checks(admin_obj) -> list[checks.CheckMessage]:
    """System checks: no search field, list filter, ordering, sortable column or date
    hierarchy of an admin may name a personal field (apps.core.personal_fields)."""
    if not isinstance(admin_obj, admin.ModelAdmin):
        return []  # inlines have no list, search or filters
    model = admin_obj.model
    named: list[tuple[str, str]] = []
    for name in admin_obj.search_fields or ():
        named.append(("search_fields", name.lstrip("^=@")))
    for item in admin_obj.list_filter or ():
        if isinstance(item, (list, tuple)):
            item = item[0]
        if isinstance(item, str):
            named.append(("list_filter", item))
        elif isinstance(item, type) and issubclass(item, ListFilter):
            continue  # a SimpleListFilter filters in code, on its own parameter
    for item in admin_obj.ordering or ():
        if isinstance(item, str):
            named.append(("ordering", item))
    if admin_obj.date_hierarchy:
        named.append(("date_hierarchy", admin_obj.date_hierarchy))
    for item in admin_obj.list_display or ():
        attr = getattr(admin_obj, item, None) if isinstance(item, str) else item
        order = getattr(attr, "admin_order_field", None) if attr is not None else item
        for path in _order_paths(order):
            named.append(("list_display", path))
    errors = []
    for option, path in named:
        found = personal_field_in_path(model, path)
        if found:
            errors.append(
                checks.Error(
                    f"{option} of {type(admin_obj).__name__} names the personal field {found} ({path!r}).",
                    hint="Personal data is never searched, filtered or sorted on in the admin "
                    "(apps.core.personal_fields).",
                    obj=type(admin_obj),
                    id="xlx.E101",
                )
            )
    return errors


def _refuse_dates_out_of_range(model, key: str, values) -> None:
    """A date in a list's query string outside 1900–2100 (apps.core.form_input), or an id
    the database cannot hold, is a bad lookup (the list says so), not a 500: 0001-01-01 in
    Asia/Shanghai is before year 1 in UTC, which Python cannot represent, and 10**26 is past
    SQLite's integers."""
    path, _sep, lookup = key.rpartition("__")
    if not path or lookup not in {"exact", "gt", "gte", "lt", "lte", "date", "year", "in", "range"}:
        path, lookup = key, "exact"
    try:
        field = get_fields_from_path(model, path)[-1]
    except (FieldDoesNotExist, NotRelationField, AttributeError):
        return
    texts = values if isinstance(values, list | tuple) else [values]
    if field.is_relation and field.many_to_one:
        field = field.target_field
    if isinstance(field, models.IntegerField | models.AutoField):  # ids: the database's range
        for text in texts:
            for part in str(text).split(",") if lookup in {"in", "range"} else [str(text)]:
                try:
                    field.run_validators(field.to_python(part.strip()))
                except ValidationError as exc:
                    if any(e.code in {"min_value", "max_value"} for e in exc.error_list):
                        raise IncorrectLookupParameters(f"{key}: a number the database cannot hold") from None
                except (TypeError, ValueError, OverflowError):
                    continue  # not a number: Django's own lookup error follows
        return
    if not isinstance(field, models.DateField):  # DateTimeField is one too
        return
    for text in texts:
        for part in str(text).split(",") if lookup in {"in", "range"} else [str(text)]:
            if lookup == "year":
                year = int(part) if part.strip().lstrip("-").isdigit() else None
            else:
                year = _year_of(part.strip())
            if year is not None and not DATE_MIN.year <= year <= DATE_MAX.year:
                raise IncorrectLookupParameters(f"{key}: a date outside {DATE_MIN.year}–{DATE_MAX.year}")


def _year_of(text: str) -> int | None:
    try:
        parsed = parse_datetime(text) or parse_date(text)
    except ValueError:  # well formed, not a date (2020-13-45): Django's own error follows
        return None
    return parsed.year if parsed else None


class PersonalDataGuardMixin:
    """Refuses any query-string lookup, filter or ordering (?o=) that touches a personal
    field, and autocompletes asked through a field no admin offers as an autocomplete: a
    400 (DisallowedModelAdminLookup), nothing matched, for everyone. Lookups on free text
    are refused too (numbers typed into it are masked on display)."""

    def check(self, **kwargs):
        return [*super().check(**kwargs), *personal_data_checks(self)]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # Not personal data, but the same attacker: an out-of-range date or a refused id
        # in any admin form is a form error, never a 500 (apps.core.form_input).
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        harden_field(formfield)
        return formfield

    def lookup_allowed(self, lookup, value, request=None):
        if personal_field_in_path(self.model, lookup, free_text=True):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        if personal_field_in_path(self.model, to_field):
            return False
        return super().to_field_allowed(request, to_field)

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)
        model = self.model

        class GuardedChangeList(base):
            def get_filters_params(self, params=None):
                lookup_params = super().get_filters_params(params)
                for key, values in lookup_params.items():
                    _refuse_dates_out_of_range(model, key, values)
                return lookup_params

            def get_ordering_field(self, field_name):
                order_field = super().get_ordering_field(field_name)
                return None if _personal_order(model, order_field) else order_field

            def get_ordering(self, request, queryset):
                # ?o=3 sorts by list_display[3]: refused outright when that column sorts
                # on a personal field (the order of rows leaks the values).
                for param in (self.params.get(ORDER_VAR) or "").split("."):
                    try:
                        field_name = self.list_display[int(param.rpartition("-")[2])]
                        order_field = base.get_ordering_field(self, field_name)
                    except (IndexError, ValueError, AttributeError):
                        continue
                    found = _personal_order(model, order_field)
                    if found:
                        raise DisallowedModelAdminLookup(f"Ordering by {found} not allowed")
                return super().get_ordering(request, queryset)

        return GuardedChangeList

    def get_search_fields(self, request):
        if is_autocomplete(request) and not self._autocomplete_source_allowed(request):
            # The autocomplete view answers 404 to an admin without search fields.
            return ()
        return super().get_search_fields(request)

    def _autocomplete_source_allowed(self, request) -> bool:
        """Django's autocomplete searches this admin for any foreign key of any model
        named in the query (history models included). Only a field that a registered
        admin offers as an autocomplete may ask."""
        try:
            source_model = apps.get_model(request.GET["app_label"], request.GET["model_name"])
        except (KeyError, LookupError, ValueError):
            return False
        if not self.admin_site.is_registered(source_model):
            return False
        source_admin = self.admin_site.get_model_admin(source_model)
        return request.GET.get("field_name", "") in source_admin.get_autocomplete_fields(request)


class HiddenObjectMixin:
    """Missing and forbidden look the same (DESIGN §7): every page of one object (change,
    delete, history, a historical version, an action) answers the product's 404 when the
    object does not exist, is outside the user's queryset, or the user may not view it.
    Only an object the user may see can answer 403 (an action they may not take)."""

    def visible_object_or_404(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise Http404(_("No such object, or you may not see it."))
        # The view that follows fetches it again: hand it this one (one query, not two).
        request._xlx_visible_object = (type(self), str(object_id), obj)
        return obj

    def get_object(self, request, object_id, from_field=None):
        cached = getattr(request, "_xlx_visible_object", None)
        if cached is not None and from_field is None and cached[:2] == (type(self), str(object_id)):
            del request._xlx_visible_object  # once: a later fetch (after a write) reads anew
            return cached[2]
        return super().get_object(request, object_id, from_field)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.visible_object_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self.visible_object_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self.visible_object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)


def is_autocomplete(request) -> bool:
    """Whether this is the admin's autocomplete view (its JSON for select2)."""
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"


class LargeTableAdmin(HiddenObjectMixin, PersonalDataGuardMixin, admin.ModelAdmin):
    """Defaults for changelists that grow with the city: planner-estimated counts on
    PostgreSQL, no second full count, no facet counts, 50 rows a page.

    `list_defer` names columns the list never shows (long texts, also of the related rows
    in list_select_related, like "appeal__search_text"): the changelist does not fetch
    them, while the change page, which shares get_queryset, still loads whole rows.
    `list_only`, where set, names instead the only columns the list reads (the busiest
    lists: each column fetched is Python work on every row); a column read but not named
    would cost a query a row, which the query-count tests of those lists catch.
    """

    paginator = EstimatedCountPaginator
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_defer: tuple[str, ...] = ()
    list_only: tuple[str, ...] = ()

    # The row's checkbox, written as Django's CheckboxInput renders it: the widget's
    # template costs about a third of a millisecond a row, a fifth of a 50-row list.
    def action_checkbox(self, obj):
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)
        defer, only = self.list_defer, self.list_only

        class LargeTableChangeList(base):
            def get_queryset(self, request, exclude_parameters=None):
                queryset = super().get_queryset(request, exclude_parameters)
                if only:
                    return queryset.only(*only)
                return queryset.defer(*defer) if defer else queryset

            def url_for_result(self, result):
                # One reverse() a page rather than one a row: the change URL of an integer
                # key is the same text around the number.
                pk = getattr(result, self.pk_attname)
                if not isinstance(pk, int):
                    return super().url_for_result(result)
                if not hasattr(self, "_row_url_parts"):
                    sentinel = 987654321987
                    url = super().url_for_result(type("Row", (), {self.pk_attname: sentinel})())
                    self._row_url_parts = url.split(str(sentinel), 1)
                head, tail = self._row_url_parts
                return f"{head}{pk}{tail}"

        return LargeTableChangeList


class ReadOnlyAdminMixin(HiddenObjectMixin, PersonalDataGuardMixin):
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


def _version_label(record) -> str:
    """What a version's object is called (its __str__), with the related objects it names
    taken from the rows already read for the page (fill_foreign_keys): the version's object is
    rebuilt from bare ids, and its __str__ would otherwise fetch them for every version."""
    instance = record.history_object
    for field in instance._meta.concrete_fields:
        if not field.many_to_one:
            continue
        try:
            joined = record._meta.get_field(field.name)
        except FieldDoesNotExist:
            continue
        if joined.is_relation and joined.is_cached(record):
            field.set_cached_value(instance, joined.get_cached_value(record))
    return str(instance)


class HistoryAdmin(HiddenObjectMixin, PersonalDataGuardMixin, SimpleHistoryAdmin):
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

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # Not simple-history's select_related of every tracked foreign key: a work order's
        # twelve LEFT JOINs took PostgreSQL 95 ms to plan (2 ms to run). The page's related
        # rows are read afterwards, one query per related model (fill_foreign_keys).
        return history_manager.filter(**{pk_name: object_id}).select_related("history_user")

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        records = list(historical_records)
        if records:
            keys = [f.name for f in records[0]._meta.concrete_fields if f.many_to_one and f.name != "history_user"]
            fill_foreign_keys(records, keys)
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        urls: dict[int, str] = {}
        for record in historical_records:
            record.version_label = _version_label(record)
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
        self.visible_object_or_404(request, object_id)
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
