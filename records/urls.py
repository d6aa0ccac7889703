from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("info/", views.update_info, name="update_info"),
    path("info/demographics/", views.update_demographics, name="update_demographics"),
    path("info/contacts/new/", views.add_contact, name="add_contact"),
    path("info/contacts/<int:pk>/", views.update_contact, name="update_contact"),
    path("info/contacts/<int:pk>/remove/", views.remove_contact, name="remove_contact"),
    path("info/insurance/<str:rank>/", views.update_insurance, name="update_insurance"),
    path("info/insurance/<str:rank>/<str:side>/", views.card, name="card"),
    path("health/", views.health_records, name="health_records"),
    path("health/<int:pk>/", views.health_record, name="health_record"),
    path("export/", views.exports, name="exports"),
    path("export/start/", views.export_start, name="export_start"),
    path("export/<uuid:public_id>/", views.export, name="export"),
    path("export/<uuid:public_id>/<str:fmt>/", views.export_file, name="export_file"),
]
