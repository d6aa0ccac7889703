from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Delegation, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name", "prescriber__npi"]
    autocomplete_fields = ["prescriber"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "phone", "role", "prescriber")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "first_name", "last_name", "role", "password1", "password2")}),
    )


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["delegate", "prescriber", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["delegate__email", "prescriber__npi", "prescriber__last_name"]
    autocomplete_fields = ["delegate", "prescriber"]
