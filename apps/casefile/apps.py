from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasefileConfig(AppConfig):
    """The case record: one timeline of everything that happened to an appeal, read by the
    case desk (operators, dispatchers, departments, leaders) and by inspectors."""

    name = "apps.casefile"
    label = "casefile"
    verbose_name = _("Case record")
