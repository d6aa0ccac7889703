"""The patient's Schedule (under /patient/schedule/)."""

from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("", views.schedule, name="schedule"),
    path("book/", views.book, name="book"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/calendar.ics", views.calendar_file, name="ics"),
]
