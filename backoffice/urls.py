from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    # The citizens' progress page (public, no login).
    path("progress/", include("apps.followups.urls")),
]

# 400, 403 and 404 are Django's handlers with the product's templates (templates/4xx.html);
# the 500 page also shows the request id.
handler500 = "apps.core.errors.server_error"
