from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.core.admin_forms import ReadOnlyAdminMixin
from apps.outbox.models import OutboxMessage

# What operations may see of a job. Never the payload (appeal numbers, approval and
# supervision texts) nor the last error (an exception's text can quote the payload): the
# system administrator, who reads this page, sees no business content (roles.py).
VISIBLE_FIELDS = ["id", "task_name", "status", "attempts", "has_error", "created_at", "available_at", "sent_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only view for operations: is anything stuck?"""

    list_display = ["task_name", "status", "created_at", "attempts", "has_error", "available_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["=id", "task_name"]
    # Listed explicitly: the view-only change page would otherwise show every model field.
    fields = VISIBLE_FIELDS
    readonly_fields = VISIBLE_FIELDS
    show_full_result_count = False

    def get_queryset(self, request):
        # Not even loaded: nothing on these pages can print what was never fetched.
        return super().get_queryset(request).defer("payload")

    @admin.display(description=_("failed before"), boolean=True)
    def has_error(self, obj):
        return bool(obj.last_error)

    def lookup_allowed(self, lookup, value, request=None):
        # Django allows any lookup on a local field in the query string: "?payload__contains="
        # would answer whether a job's payload holds a guessed text. Only the shown filter.
        return lookup.split("__", 1)[0] == "status"
