from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthorizationConfig(AppConfig):
    name = "apps.authorization"
    label = "authorization"
    verbose_name = _("Leadership authorization")

    def ready(self):
        from apps.authorization import tasks  # noqa: F401  (registers the Celery tasks)
