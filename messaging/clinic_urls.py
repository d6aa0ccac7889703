"""The Clinic area's Messages (gated like the rest of the Clinic area)."""

from django.urls import path

from . import clinic_views

app_name = "clinic_messaging"

urlpatterns = [
    path("", clinic_views.inbox, name="inbox"),
    path("<int:pk>/", clinic_views.thread, name="thread"),
    path("<int:pk>/reply/", clinic_views.reply, name="reply"),
    path("<int:pk>/since/", clinic_views.since, name="since"),
    path("<int:pk>/archive/", clinic_views.archive, name="archive"),
    path("<int:pk>/assign/", clinic_views.assign, name="assign"),
    path("<int:pk>/done/", clinic_views.done, name="done"),
    path("attachments/<int:pk>/", clinic_views.attachment, name="attachment"),
]
