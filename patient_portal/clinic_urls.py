"""The Clinic area's side of the patient portal: charts and proxies, portal settings, the
provider's Portal Dashboard message (gated like the rest of the Clinic area)."""

from django.urls import path

from . import clinic_views

app_name = "clinic_portal"

urlpatterns = [
    path("charts/", clinic_views.charts, name="charts"),
]
