from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from .models import (
    CareGroup,
    IngestToken,
    Patient,
    Pharmacy,
    Prescriber,
    Prescription,
    StatusChange,
)


@admin.register(Prescriber)
class PrescriberAdmin(admin.ModelAdmin):
    list_display = ["npi", "last_name", "first_name", "credential", "city", "state", "phone"]
    list_filter = ["state", "credential"]
    search_fields = ["npi", "last_name", "first_name", "practice_name", "city", "zip_code"]


@admin.register(Pharmacy)
class PharmacyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "phone", "npi"]
    search_fields = ["name", "code", "npi"]


@admin.register(CareGroup)
class CareGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "pharmacy", "is_active"]
    list_filter = ["pharmacy", "is_active"]
    search_fields = ["name", "prescribers__npi", "prescribers__last_name", "pharmacists__email"]
    filter_horizontal = ["prescribers", "pharmacists"]


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    """Tokens are issued here; the secret is shown once in a message, then only its hash remains."""

    list_display = ["pharmacy", "label", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["pharmacy", "revoked_at"]
    search_fields = ["label", "pharmacy__name"]
    fields = ["pharmacy", "label", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["created_at", "last_used_at"]

    def save_model(
        self, request: HttpRequest, obj: IngestToken, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        token_obj, token = IngestToken.issue(pharmacy=obj.pharmacy, label=obj.label)
        obj.pk = token_obj.pk
        obj.digest = token_obj.digest
        messages.warning(
            request, f"Copy this ingest token now; it will not be shown again: {token}"
        )


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "changed_at"]
    can_delete = False


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = [
        "pharmacy_patient_id",
        "pharmacy",
        "last_name",
        "first_name",
        "date_of_birth",
        "state",
    ]
    list_filter = ["pharmacy", "sex", "state"]
    list_select_related = ["pharmacy"]
    search_fields = ["pharmacy_patient_id", "last_name", "first_name", "email", "phone"]


@admin.register(Prescription)
class PrescriptionAdmin(admin.ModelAdmin):
    list_display = [
        "rx_number",
        "patient",
        "medication_name",
        "status",
        "last_shipped",
        "prescriber",
        "pharmacy",
    ]
    list_filter = ["status", "pharmacy"]
    search_fields = [
        "rx_number",
        "pharmacy_rx_id",
        "medication_name",
        "patient__last_name",
        "prescriber__npi",
    ]
    list_select_related = ["patient", "prescriber", "pharmacy"]
    raw_id_fields = ["patient", "prescriber"]
    inlines = [StatusChangeInline]
