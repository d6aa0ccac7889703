from django.urls import path

from . import views

app_name = "instructions"

urlpatterns = [
    path("", views.instruction_list, name="list"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/pdf/", views.pdf, name="pdf"),
]
