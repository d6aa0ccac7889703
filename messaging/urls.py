from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.compose, name="compose"),
    path("<int:pk>/", views.thread, name="thread"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/since/", views.since, name="since"),
    path("<int:pk>/archive/", views.archive, name="archive"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
]
