from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core.admin_forms import ReadOnlyAdminMixin
from apps.notifications import services
from apps.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each staff member's inbox: only their own notifications, read-only."""

    list_display = ["title", "created_at", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    readonly_fields = ["title", "body", "link", "created_at", "read_at"]
    fields = readonly_fields
    actions = ["mark_read"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).filter(recipient=request.user)


    @admin.action(description=_("Mark as read"), permissions=["view"])
    def mark_read(self, request, queryset):
        count = services.notification_mark_read(actor=request.user, notifications=list(queryset))
        self.message_user(
            request,
            ngettext("%d notification marked read.", "%d notifications marked read.", count) % count,
            messages.SUCCESS,
        )
