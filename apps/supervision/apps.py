from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "apps.supervision"
    label = "supervision"
    verbose_name = _("Supervision and accountability")

    def ready(self):
        from apps.supervision import immutability, tasks  # noqa: F401  (registers the Celery tasks)

        # History tables created by later migrations (other apps) get the append-only
        # triggers too: checked after every migrate, created only where missing.
        post_migrate.connect(immutability.ensure_triggers_after_migrate, dispatch_uid="supervision_append_only")
