from django.urls import path

from apps.followups import views

app_name = "progress"
urlpatterns = [path("", views.progress, name="lookup")]
