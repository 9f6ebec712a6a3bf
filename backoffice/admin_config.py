from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin, with the back office's site (workbench, calendar warning,
    each role's landing page)."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"
