"""The Clinic area's side of records (gated like the rest of the Clinic area)."""

from django.urls import path

from . import clinic_views

app_name = "clinic_records"

urlpatterns = [
    path("changes/", clinic_views.changes, name="changes"),
    path("changes/<int:pk>/accept/", clinic_views.accept, name="accept"),
    path("changes/<int:pk>/reject/", clinic_views.reject, name="reject"),
    path("changes/<int:pk>/file/", clinic_views.pending_file, name="pending_file"),
    path("charts/<int:pk>/", clinic_views.chart, name="chart"),
    path("charts/<int:pk>/upload/", clinic_views.upload, name="upload"),
    path("charts/<int:pk>/cards/<str:rank>/<str:side>/", clinic_views.card, name="card"),
    path("health/<int:pk>/", clinic_views.health_record, name="health_record"),
]
