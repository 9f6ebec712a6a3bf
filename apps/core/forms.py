from apps.core import services
from apps.core.admin_forms import ServiceModelForm
from apps.core.models import CalendarDay, CalendarYear


class CalendarYearForm(ServiceModelForm):
    class Meta:
        model = CalendarYear
        fields = ["year", "is_published", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "year" in self.fields:
            self.fields["year"].disabled = True

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return services.calendar_year_save(
            actor=actor,
            year=data["year"],
            is_published=data["is_published"],
            note=data["note"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )


class CalendarDayForm(ServiceModelForm):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name"]

    def run_service(self, *, actor, reason):
        data = self.cleaned_data
        return services.calendar_day_save(
            actor=actor,
            day=data["date"],
            kind=data["kind"],
            name=data["name"],
            reason=reason,
            instance=self.instance if self.instance.pk else None,
        )
