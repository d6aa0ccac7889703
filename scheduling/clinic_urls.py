"""The Clinic area's schedule (under /clinic/schedule/)."""

from django.urls import path

from . import clinic_views

app_name = "scheduling_clinic"

urlpatterns = [
    path("", clinic_views.calendar, name="calendar"),
    path("book/", clinic_views.book, name="book"),
    path("appointments/<int:pk>/", clinic_views.change, name="change"),
    path("settings/", clinic_views.settings_page, name="settings"),
]
