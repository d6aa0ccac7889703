"""The payment provider's webhook: no session, no role gate; the signature is the check."""

from django.urls import path

from . import views

app_name = "billing_webhooks"

urlpatterns = [path("provider/", views.webhook, name="provider")]
