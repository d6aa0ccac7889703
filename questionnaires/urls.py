"""The patient portal's Documents section (/patient/documents/)."""

from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("<int:pk>/", views.fill, name="fill"),
    path("completed/<int:pk>/pdf/", views.pdf, name="pdf"),
]
