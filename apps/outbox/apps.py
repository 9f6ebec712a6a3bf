from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "apps.outbox"
    label = "outbox"
    verbose_name = _("Background jobs")

    def ready(self):
        from apps.outbox import tasks  # noqa: F401  (registers the Celery tasks in every process)
