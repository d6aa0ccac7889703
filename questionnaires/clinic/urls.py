"""The Clinic area's Documents: forms and their builder, assignments, submissions, trends."""

from django.urls import path

from . import views as clinic_views

app_name = "clinic_documents"

urlpatterns = [
    path("", clinic_views.index, name="index"),
    path("forms/new/", clinic_views.form_new, name="form_new"),
    path("forms/<int:pk>/", clinic_views.form_detail, name="form"),
    path("forms/<int:pk>/questions/", clinic_views.question_add, name="question_add"),
    path("questions/<int:pk>/move/", clinic_views.question_move, name="question_move"),
    path("questions/<int:pk>/remove/", clinic_views.question_remove, name="question_remove"),
    path("charts/<int:pk>/", clinic_views.chart_documents, name="chart"),
    path("charts/<int:pk>/assign/", clinic_views.assign, name="assign"),
    path("assignments/<int:pk>/cancel/", clinic_views.cancel, name="cancel"),
    path("submissions/<int:pk>/", clinic_views.submission, name="submission"),
    path("submissions/<int:pk>/pdf/", clinic_views.submission_pdf, name="pdf"),
]
