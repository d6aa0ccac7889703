"""The Clinic area's billing pages (gated like the rest of the Clinic area)."""

from django.urls import path

from . import clinic_views

app_name = "clinic_billing"

urlpatterns = [
    path("", clinic_views.open_invoices, name="open_invoices"),
    path("balances/", clinic_views.charts, name="charts"),
    path("profile/", clinic_views.profile, name="profile"),
    path("charts/<int:pk>/", clinic_views.chart_billing, name="chart"),
    path("charts/<int:pk>/invoices/new/", clinic_views.invoice_new, name="invoice_new"),
    path("charts/<int:pk>/adjustments/", clinic_views.adjustment, name="adjustment"),
    path("invoices/<int:pk>/issue/", clinic_views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", clinic_views.invoice_void, name="invoice_void"),
    path("payments/<int:pk>/refund/", clinic_views.refund, name="refund"),
]
