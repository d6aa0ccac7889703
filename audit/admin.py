from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import AuditEvent


class ObjectTypeFilter(admin.SimpleListFilter):
    """ "By object type", with a name for events about no object (sign-ins, lists).

    Django's default filter writes the empty value as a link with no text, which a screen
    reader announces as nothing (axe link-name).
    """

    title = "object type"
    parameter_name = "object_type"
    NONE = "-"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        kinds = (
            AuditEvent.objects.order_by("object_type")
            .values_list("object_type", flat=True)
            .distinct()
        )
        return [(kind or self.NONE, kind or "No object (sign-ins, lists)") for kind in kinds]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(object_type="" if value == self.NONE else value)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: ops can search and filter the trail but never change it."""

    list_display = [
        "at",
        "user_email",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "chart_id",
        "on_behalf_of",
        "ip_address",
    ]
    list_filter = ["action", ObjectTypeFilter, "at"]
    search_fields = [
        "user_email",
        "object_id",
        "description",
        "ip_address",
        "path",
        "on_behalf_of",
        "=chart_id",
    ]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
