from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulationConfig(AppConfig):
    """Synthetic data at city scale (`manage.py seed_city`) for benchmarks and demos.
    No models: it writes the other apps' tables directly, history and action log included."""

    name = "apps.simulation"
    label = "simulation"
    verbose_name = _("City simulation")
