from django.contrib import admin

from .models import (
    Coverage,
    Demographics,
    EmergencyContact,
    FieldChange,
    HealthExport,
    HealthRecord,
    PendingChange,
)


@admin.register(Demographics)
class DemographicsAdmin(admin.ModelAdmin):
    list_display = ("chart", "preferred_name", "city", "phone", "updated_at")
    search_fields = ("chart__legal_last_name", "chart__legal_first_name", "email", "phone")
    raw_id_fields = ("chart",)


@admin.register(EmergencyContact)
class EmergencyContactAdmin(admin.ModelAdmin):
    list_display = ("name", "relationship", "chart", "phone")
    search_fields = ("name", "chart__legal_last_name")
    raw_id_fields = ("chart",)


@admin.register(Coverage)
class CoverageAdmin(admin.ModelAdmin):
    list_display = ("chart", "rank", "payer", "member_id")
    list_filter = ("rank",)
    search_fields = ("payer", "member_id", "chart__legal_last_name")
    raw_id_fields = ("chart",)


@admin.register(PendingChange)
class PendingChangeAdmin(admin.ModelAdmin):
    list_display = ("chart", "subject", "label", "status", "submitted_at", "decided_at")
    list_filter = ("status", "subject")
    search_fields = ("chart__legal_last_name", "label")
    raw_id_fields = ("chart", "submitted_by", "decided_by")


@admin.register(FieldChange)
class FieldChangeAdmin(admin.ModelAdmin):
    list_display = ("chart", "subject", "label", "changed_by", "changed_at")
    list_filter = ("subject",)
    search_fields = ("chart__legal_last_name", "label")
    raw_id_fields = ("chart", "changed_by", "proposed_by", "pending")


@admin.register(HealthRecord)
class HealthRecordAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "chart", "source", "created_at")
    list_filter = ("kind",)
    search_fields = ("title", "chart__legal_last_name", "source")
    raw_id_fields = ("chart", "created_by")


@admin.register(HealthExport)
class HealthExportAdmin(admin.ModelAdmin):
    list_display = ("chart", "requested_by", "status", "progress", "created_at", "expires_at")
    list_filter = ("status",)
    search_fields = ("chart__legal_last_name",)
    raw_id_fields = ("chart", "requested_by")
