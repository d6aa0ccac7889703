from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("session/keep-alive/", views.keep_alive, name="keep_alive"),
    path("login/email/", views.email_sign_in, name="email_sign_in"),
    path("login/email/sent/", views.email_sign_in_sent, name="email_sign_in_sent"),
    path("login/email/<str:token>/", views.email_sign_in_confirm, name="email_sign_in_confirm"),
    # Second factor
    path("mfa/", views.mfa, name="mfa"),
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("mfa/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path(
        "mfa/recovery-codes/download/",
        views.recovery_codes_download,
        name="recovery_codes_download",
    ),
    # Prescriber registration
    path("register/", views.register, name="register"),
    path("register/verify/", views.register_verify, name="register_verify"),
    path("register/password/", views.register_password, name="register_password"),
    path("register/done/", views.register_done, name="register_done"),
    # Administration (prescribers) and invitation links
    path("administration/", views.administration, name="administration"),
    path("administration/invite/", views.invite_delegate, name="invite_delegate"),
    path("administration/invites/<int:pk>/resend/", views.resend_invite, name="resend_invite"),
    path("administration/invites/<int:pk>/revoke/", views.revoke_invite, name="revoke_invite"),
    path(
        "administration/delegates/<int:pk>/remove/", views.remove_delegate, name="remove_delegate"
    ),
    path("invite/<str:token>/", views.invite, name="invite"),
    # Profile and password reset
    path("profile/", views.profile, name="profile"),
    path("profile/confirm/", views.sudo, name="sudo"),
    path("profile/password/", views.change_password, name="change_password"),
    path("profile/email/", views.change_email, name="change_email"),
    path("profile/recovery-codes/", views.new_recovery_codes, name="new_recovery_codes"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
