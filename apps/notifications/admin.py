from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from apps.core.admin_forms import ReadOnlyAdminMixin
from apps.core.personal_data import mask_text
from apps.notifications import services
from apps.notifications.models import Notification


class ReadFilter(admin.SimpleListFilter):
    """Unread / read, with the workbench's link (?read_at__isnull=True) as "unread"
    (Django's empty-field filter says "empty" / "not empty" of the read time)."""

    title = _("status")
    parameter_name = "read_at__isnull"

    def lookups(self, request, model_admin):
        return [("True", _("unread")), ("False", _("read"))]

    def queryset(self, request, queryset):
        if self.value() in {"True", "False"}:
            return queryset.filter(read_at__isnull=self.value() == "True")
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each staff member's inbox: only their own notifications, read-only. Opening one
    (its page, or its "open" link in the list) marks it read."""

    # Texts as shown: a notification's title and body may quote an appeal (a number typed
    # into it included), so both are shown through mask_text (stored whole).
    list_display = ["title_shown", "created_at", "read_at", "open_link"]
    list_filter = [ReadFilter]
    search_fields = ["title"]
    readonly_fields = ["title_shown", "body_shown", "linked_page", "created_at", "read_at"]
    fields = readonly_fields
    actions = ["mark_read"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).filter(recipient=request.user)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/open/",
                self.admin_site.admin_view(self.open_view),
                name=f"{opts.app_label}_{opts.model_name}_open",
            ),
            *super().get_urls(),
        ]

    def _own(self, request, object_id) -> Notification:
        notification = self.get_object(request, unquote(object_id))  # the recipient's own only
        if notification is None:
            raise Http404
        if not self.has_view_permission(request, notification):
            raise PermissionDenied
        return notification

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            services.notification_mark_read(actor=request.user, notifications=[self._own(request, object_id)])
        return super().change_view(request, object_id, form_url, extra_context)

    def open_view(self, request, object_id):
        """Mark the notification read and go to the page it links to (its own page when
        the link is missing or not a path on this site)."""
        notification = self._own(request, object_id)
        services.notification_mark_read(actor=request.user, notifications=[notification])
        target = notification.internal_link or reverse(
            "admin:notifications_notification_change", args=[notification.pk]
        )
        return HttpResponseRedirect(target)

    @admin.display(description=_("title"), ordering="title")
    def title_shown(self, obj):
        return mask_text(obj.title)

    @admin.display(description=_("message"))
    def body_shown(self, obj):
        return mask_text(obj.body)

    @admin.display(description=_("linked page"))
    def open_link(self, obj):
        if not obj.internal_link:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:notifications_notification_open", args=[obj.pk]),
            pgettext_lazy("follow a link", "open"),
        )

    @admin.display(description=_("link"))
    def linked_page(self, obj):
        # Only a path on this site becomes a link; anything else is shown as text.
        if obj.internal_link:
            return format_html('<a href="{}">{}</a>', obj.internal_link, _("Open the linked page"))
        return obj.link or "-"

    @admin.action(description=_("Mark as read"), permissions=["view"])
    def mark_read(self, request, queryset):
        count = services.notification_mark_read(actor=request.user, notifications=list(queryset))
        self.message_user(
            request,
            ngettext("%d notification marked read.", "%d notifications marked read.", count) % count,
            messages.SUCCESS,
        )
