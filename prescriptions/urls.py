from django.urls import path

from . import api, views

app_name = "prescriptions"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("api/ingest/prescriptions/", api.ingest, name="ingest"),
]
