from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "apps.followups"
    label = "followups"
    verbose_name = _("Return visits")

    def ready(self):
        from apps.followups import tasks  # noqa: F401  (registers the Celery tasks and consumers)
