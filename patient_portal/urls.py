from django.urls import path

from . import views

app_name = "patient_portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("switch/", views.switch, name="switch"),
    path("account/", views.account, name="account"),
    path("account/profile/", views.account_profile, name="account_profile"),
    path("account/password/", views.account_password, name="account_password"),
    path("account/email/", views.account_email, name="account_email"),
    path(
        "account/email/confirm/<str:token>/",
        views.account_email_confirm,
        name="account_email_confirm",
    ),
    path("account/notifications/", views.account_notifications, name="account_notifications"),
    path("account/sessions/sign-out/", views.account_sign_out_others, name="account_sign_out"),
    path("account/two-step/setup/", views.account_mfa_setup, name="account_mfa_setup"),
    path("account/two-step/off/", views.account_mfa_off, name="account_mfa_off"),
    path("account/two-step/codes/", views.account_recovery_codes, name="account_recovery_codes"),
]
