from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    from django.apps import apps

    # post_migrate is sent once per app that has models; by the last one's turn every
    # permission exists.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.name != with_models[-1].name:
        return
    from apps.organization.roles import sync_role_groups

    sync_role_groups()


class OrganizationConfig(AppConfig):
    name = "apps.organization"
    label = "organization"
    verbose_name = _("Organisation")

    def ready(self):
        from django.contrib.auth import signals as auth_signals
        from django.contrib.auth.models import update_last_login

        from apps.organization import checks  # noqa: F401  (registers xlx.E001, xlx.W001, xlx.W002)
        from apps.organization.login import record_last_login

        # Role groups follow roles.ROLE_PERMISSIONS after every migrate.
        post_migrate.connect(_sync_roles, dispatch_uid="organization_sync_roles")
        # Django's update_last_login saves the user, which would add a history row per
        # login; logins are in the action log already.
        auth_signals.user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        auth_signals.user_logged_in.connect(record_last_login, dispatch_uid="organization_last_login")
