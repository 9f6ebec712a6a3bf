from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.core import services
from apps.core.admin_forms import HistoryAdmin, ServiceAdminMixin
from apps.core.forms import CalendarDayForm, CalendarYearForm
from apps.core.models import CalendarDay, CalendarYear


@admin.register(CalendarYear)
class CalendarYearAdmin(ServiceAdminMixin, HistoryAdmin):
    form = CalendarYearForm
    list_display = ["year", "is_published", "source", "note", "updated_at"]
    list_filter = ["is_published"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(ServiceAdminMixin, HistoryAdmin):
    form = CalendarDayForm
    list_display = ["date", "weekday_label", "kind", "name"]
    list_filter = ["kind"]
    search_fields = ["name", "=date"]
    date_hierarchy = "date"  # a few hundred rows: cheap here

    @admin.display(description=_("weekday"))
    def weekday_label(self, obj):
        return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][obj.date.weekday()]

    def delete_model(self, request, obj):
        services.calendar_day_delete(actor=request.user, instance=obj, reason=_("deleted in the admin"))
