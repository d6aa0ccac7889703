from django.contrib import admin

from .models import (
    Chart,
    ConsentChange,
    DashboardMessage,
    PatientPreferences,
    PortalSettings,
    ProxyGrant,
    ProxyInvite,
    SignedInSession,
)


class ProxyGrantInline(admin.TabularInline):
    model = ProxyGrant
    extra = 0
    fk_name = "chart"
    raw_id_fields = ["grantee", "granted_by", "revoked_by"]


@admin.register(Chart)
class ChartAdmin(admin.ModelAdmin):
    list_display = ["legal_last_name", "legal_first_name", "date_of_birth", "clinic", "provider"]
    list_filter = ["clinic", ("patient_user", admin.EmptyFieldListFilter)]
    search_fields = ["legal_first_name", "legal_last_name", "patient_user__email", "clinic__name"]
    raw_id_fields = ["provider", "patient_user", "joined_link"]
    inlines = [ProxyGrantInline]


@admin.register(ProxyGrant)
class ProxyGrantAdmin(admin.ModelAdmin):
    list_display = ["grantee", "chart", "relationship", "ends_on", "created_at", "revoked_at"]
    list_filter = ["relationship", ("revoked_at", admin.EmptyFieldListFilter), "chart__clinic"]
    search_fields = ["grantee__email", "chart__legal_last_name", "chart__legal_first_name"]
    raw_id_fields = ["chart", "grantee", "granted_by", "revoked_by"]
    date_hierarchy = "created_at"


@admin.register(ProxyInvite)
class ProxyInviteAdmin(admin.ModelAdmin):
    list_display = ["invite", "chart", "relationship", "ends_on", "grant"]
    list_filter = ["relationship"]
    search_fields = ["invite__email", "invite__last_name", "chart__legal_last_name"]
    raw_id_fields = ["invite", "chart", "grant"]


@admin.register(PortalSettings)
class PortalSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "clinic",
        "messages",
        "online_booking",
        "billing",
        "documents",
        "health_records",
        "instructions",
        "updated_at",
    ]
    list_filter = ["messages", "online_booking", "billing", "documents"]
    search_fields = ["clinic__name"]
    raw_id_fields = ["updated_by"]


@admin.register(DashboardMessage)
class DashboardMessageAdmin(admin.ModelAdmin):
    list_display = ["provider", "updated_at"]
    list_filter = ["provider__clinic"]
    search_fields = ["provider__user__email", "provider__user__last_name", "text"]
    raw_id_fields = ["provider"]


@admin.register(PatientPreferences)
class PatientPreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "email_consent", "email_consent_at"]
    list_filter = ["email_consent"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(ConsentChange)
class ConsentChangeAdmin(admin.ModelAdmin):
    list_display = ["user", "consented", "at", "ip_address"]
    list_filter = ["consented"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    date_hierarchy = "at"


@admin.register(SignedInSession)
class SignedInSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "user_agent", "ip_address", "last_seen", "ended_at"]
    list_filter = [("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "ip_address"]
    raw_id_fields = ["user"]
    readonly_fields = ["tracking_id"]
