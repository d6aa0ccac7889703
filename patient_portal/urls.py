from django.urls import path

from . import views

app_name = "patient_portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("switch/", views.switch, name="switch"),
    path("account/", views.account, name="account"),
]
