from django.contrib import admin

from .models import Notification, NotificationPreference, NotificationSettings


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "activity", "read_at", "email_pending", "emailed_at"]
    list_filter = ["activity", "email_pending", "in_app"]
    search_fields = ["recipient__email"]
    raw_id_fields = ["recipient", "actor", "prescription", "patient"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "activity", "in_app", "email"]
    list_filter = ["activity", "in_app", "email"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "digest", "quiet_hours_start", "quiet_hours_end", "last_digest_at"]
    list_filter = ["digest"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
