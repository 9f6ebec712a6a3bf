from django.contrib import admin

from apps.core.admin_forms import ReadOnlyAdminMixin
from apps.outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only view for operations: is anything stuck?"""

    list_display = ["task_name", "status", "created_at", "attempts", "available_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["=id", "task_name"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    show_full_result_count = False

