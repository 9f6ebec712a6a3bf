from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = _("Action log")

    def ready(self):
        from apps.audit import auth_events, tasks  # noqa: F401  (login/logout receivers, Celery tasks)
