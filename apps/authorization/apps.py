from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthorizationConfig(AppConfig):
    name = "apps.authorization"
    label = "authorization"
    verbose_name = _("Leadership authorization")

    def ready(self):
        from apps.appeals import services as appeal_services
        from apps.authorization import adaptations, tasks  # noqa: F401  (tasks: registers the Celery tasks)
        from apps.tasks import services as task_services

        # Intake and dispatch consult the live rule adaptations (变通). Appeals and tasks sit
        # below this app and do not import it: it hands them its lookups here.
        appeal_services.install_priority_adapter(adaptations.adapted_priority)
        task_services.install_resolve_limit_adapter(adaptations.adapted_resolve_limit)
