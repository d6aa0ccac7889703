from django.contrib import admin

from .models import BillingProfile, WebhookEvent


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin[BillingProfile]):
    list_display = ["clinic", "legal_name", "tax_id", "npi"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin[WebhookEvent]):
    list_display = ["event_id", "type", "provider", "received_at"]
    readonly_fields = ["event_id", "type", "provider", "received_at"]
