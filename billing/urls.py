from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.invoices, name="invoices"),
    path("cards/", views.cards, name="cards"),
    path("cards/add/", views.card_add, name="card_add"),
    path("cards/<int:pk>/default/", views.card_default, name="card_default"),
    path("cards/<int:pk>/remove/", views.card_remove, name="card_remove"),
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history_csv"),
    path("superbill/", views.superbill, name="superbill"),
    path("invoices/<int:pk>/", views.invoice, name="invoice"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf_view, name="invoice_pdf"),
    path("invoices/<int:pk>/pay/", views.pay, name="pay"),
    path("payments/<int:pk>/", views.payment, name="payment"),
    path("payments/<int:pk>/check/", views.payment_check, name="payment_check"),
]
