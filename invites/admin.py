from django.contrib import admin

from .models import Clinic, ClinicMembership, ClinicPatient, Invite, InviteListPreference


class MembershipInline(admin.TabularInline):
    model = ClinicMembership
    extra = 0
    autocomplete_fields = ["user"]
    raw_id_fields = ["prescriber"]


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(ClinicMembership)
class ClinicMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role", "prescriber"]
    list_filter = ["role", "clinic"]
    search_fields = ["user__email", "user__last_name", "clinic__name"]
    autocomplete_fields = ["user", "clinic"]
    raw_id_fields = ["prescriber"]


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = [
        "first_name",
        "last_name",
        "clinic",
        "provider",
        "status",
        "invited_at",
        "accepted_at",
        "removed_at",
    ]
    list_filter = ["status", "clinic", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["first_name", "last_name", "email", "mobile", "clinic__name"]
    raw_id_fields = ["provider", "invited_by"]
    readonly_fields = ["code", "invited_at", "sent_at", "accepted_at", "failed_attempts"]
    date_hierarchy = "invited_at"


@admin.register(ClinicPatient)
class ClinicPatientAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "provider", "joined_at"]
    list_filter = ["clinic"]
    search_fields = ["user__email", "user__last_name", "clinic__name"]
    raw_id_fields = ["user", "provider", "invite"]


@admin.register(InviteListPreference)
class InviteListPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user"]
    raw_id_fields = ["user"]
