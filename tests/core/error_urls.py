"""The product's URLs plus three views that fail, for the error-page tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from backoffice.urls import handler500
from backoffice.urls import urlpatterns as product_urlpatterns


def boom(request):
    raise RuntimeError("boom")


def bad(request):
    raise SuspiciousOperation("malformed")


def refused(request):
    raise PermissionDenied("Only return-visit agents record visits.")


urlpatterns = [
    path("test-errors/boom/", boom),
    path("test-errors/bad/", bad),
    path("test-errors/refused/", refused),
    *product_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
