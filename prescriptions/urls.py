from django.urls import path

from . import api, views

app_name = "prescriptions"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.csv", views.export, name="export"),
    path("dashboard/saved-filters/", views.save_filter, name="save_filter"),
    path("dashboard/saved-filters/<int:pk>/delete/", views.delete_filter, name="delete_filter"),
    path("patients/<int:pk>/", views.patient, name="patient"),
    path("prescriptions/<int:pk>/", views.prescription, name="prescription"),
    path("api/ingest/prescriptions/", api.ingest, name="ingest"),
]
