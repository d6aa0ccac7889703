from django.urls import path

from . import views

app_name = "invites"

urlpatterns = [
    path("invite/", views.invite, name="invite"),
    path("invite/sent/", views.sent, name="sent"),
    path("invite/template.csv", views.csv_template, name="csv_template"),
    path("invite/import/", views.import_csv, name="import_csv"),
    path("invite/import/<int:pk>/report.csv", views.import_report, name="import_report"),
    path("select/", views.select, name="select"),
    path("select/providers/", views.providers, name="providers"),
    path("patients/", views.patients, name="patients"),
    path("invites/columns/", views.columns, name="columns"),
    path("invites/<int:pk>/resend/", views.resend, name="resend"),
    path("invites/<int:pk>/remove/", views.remove, name="remove"),
    path("join/", views.join_code, name="join_code"),
    path("join/account/", views.join_account, name="join_account"),
    path("join/done/", views.join_done, name="join_done"),
    path("join/<str:token>/", views.join_link, name="join_link"),
    path("joined/<int:pk>/", views.joined, name="joined"),
]
