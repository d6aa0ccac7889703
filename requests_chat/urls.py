from django.urls import path

from . import views

app_name = "requests_chat"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.create, name="create"),
    path("new/patients/", views.patient_options, name="patient_options"),
    path("new/prescriptions/", views.prescription_options, name="prescription_options"),
    path("rx/<int:prescription_pk>/", views.for_prescription, name="for_prescription"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/messages/", views.send, name="send"),
    path("<int:pk>/messages/since/", views.messages_since, name="messages_since"),
    path("<int:pk>/messages/before/", views.messages_before, name="messages_before"),
    path("documents/check/", views.check_document, name="check_document"),
    path("documents/<int:pk>/", views.document, name="document"),
]
