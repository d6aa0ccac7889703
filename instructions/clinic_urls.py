"""The Clinic area's Clinician's Instructions (gated like the rest of the Clinic area)."""

from django.urls import path

from . import clinic_views

app_name = "clinic_instructions"

urlpatterns = [
    path("", clinic_views.index, name="index"),
    path("charts/<int:pk>/", clinic_views.chart_instructions, name="chart"),
    path("charts/<int:pk>/new/", clinic_views.new, name="new"),
    path("<int:pk>/", clinic_views.detail, name="detail"),
    path("<int:pk>/edit/", clinic_views.edit, name="edit"),
    path("<int:pk>/unpublish/", clinic_views.unpublish, name="unpublish"),
    path("<int:pk>/publish/", clinic_views.publish, name="publish"),
    path("<int:pk>/pdf/", clinic_views.pdf, name="pdf"),
]
