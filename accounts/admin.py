from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import DelegateInvite, Delegation, PharmacistInvite, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "role",
        "is_active",
        "is_staff",
        "last_login",
    ]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name", "prescriber__npi"]
    autocomplete_fields = ["prescriber"]
    actions = ["reset_mfa"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "phone", "role", "prescriber")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "role", "password1", "password2"),
            },
        ),
    )

    @admin.action(description="Reset MFA (the user sets up an authenticator again)")
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.reset_mfa(user=user, request=request)
        self.message_user(
            request, f"MFA reset for {queryset.count()} user(s); their sessions ended."
        )


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["delegate", "prescriber", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["delegate__email", "prescriber__npi", "prescriber__last_name"]
    autocomplete_fields = ["delegate", "prescriber"]


@admin.register(DelegateInvite)
class DelegateInviteAdmin(admin.ModelAdmin):
    list_display = ["email", "role", "prescriber", "care_group", "status", "sent_at", "accepted_at"]
    list_filter = ["role", "status"]
    search_fields = ["email", "prescriber__npi", "prescriber__last_name"]
    readonly_fields = [f.name for f in DelegateInvite._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # prescribers invite from the Administration page; ops use pharmacist invites

    @admin.action(description="Revoke selected pending invites")
    def revoke(self, request: HttpRequest, queryset: QuerySet[DelegateInvite]) -> None:
        count = 0
        for invite in queryset.filter(status=DelegateInvite.Status.PENDING):
            invite.revoke()
            count += 1
        self.message_user(request, f"{count} invite(s) revoked.")


class PharmacistInviteForm(forms.ModelForm):
    class Meta:
        model = PharmacistInvite
        fields = ["email", "care_group"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["care_group"].required = True


@admin.register(PharmacistInvite)
class PharmacistInviteAdmin(admin.ModelAdmin):
    """Ops invite pharmacists into a care group; the emailed link leads to registration."""

    form = PharmacistInviteForm
    list_display = ["email", "care_group", "status", "sent_at", "accepted_at"]
    list_filter = ["status", "care_group"]
    search_fields = ["email", "care_group__name"]
    actions = ["resend", "revoke"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: PharmacistInvite | None = None
    ) -> list[str]:
        return ["email", "care_group", "status", "sent_at", "accepted_at"] if obj else []

    def save_model(
        self, request: HttpRequest, obj: PharmacistInvite, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            return
        invite = services.invite_pharmacist(
            care_group=form.cleaned_data["care_group"],
            email=form.cleaned_data["email"],
            # The admin site lets only signed-in staff users in.
            invited_by=cast(User, request.user),
            request=request,
        )
        obj.pk = invite.pk
        messages.info(request, f"Invitation emailed to {invite.email}.")

    @admin.action(description="Resend selected pending invites")
    def resend(self, request: HttpRequest, queryset: QuerySet[PharmacistInvite]) -> None:
        pending = list(queryset.filter(status=DelegateInvite.Status.PENDING))
        for invite in pending:
            services.send_invite(invite)
        self.message_user(request, f"{len(pending)} invite(s) sent again.")

    @admin.action(description="Revoke selected pending invites")
    def revoke(self, request: HttpRequest, queryset: QuerySet[PharmacistInvite]) -> None:
        count = 0
        for invite in queryset.filter(status=DelegateInvite.Status.PENDING):
            invite.revoke()
            count += 1
        self.message_user(request, f"{count} invite(s) revoked.")
