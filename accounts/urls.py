from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("session/keep-alive/", views.keep_alive, name="keep_alive"),
]
