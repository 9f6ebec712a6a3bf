from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("Working calendar")

    def ready(self):
        from apps.core import celery_context  # noqa: F401  (connects task_prerun)
        from apps.core.admin_links import install

        install()  # read-only foreign keys link only for those who may open the page
        from apps.core import admin_autocomplete

        admin_autocomplete.install()  # an id sent as "abc" or 10**30 is an invalid choice, not a 500
