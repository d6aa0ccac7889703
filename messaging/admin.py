from django.contrib import admin

from .models import Attachment, Message, Reader, Thread


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["author_name", "from_clinic", "body", "created_at"]
    readonly_fields = ["author_name", "from_clinic", "body", "created_at"]
    show_change_link = True


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["subject", "chart", "to", "clinic", "last_message_at", "assigned_to", "done_at"]
    list_filter = ["to", "clinic", ("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "chart__legal_first_name", "chart__legal_last_name"]
    raw_id_fields = [
        "chart",
        "clinic",
        "provider",
        "created_by",
        "last_message",
        "assigned_to",
        "done_by",
    ]
    date_hierarchy = "last_message_at"
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "thread", "author_name", "from_clinic", "created_at"]
    list_filter = ["from_clinic"]
    search_fields = ["author_name", "thread__subject"]
    raw_id_fields = ["thread", "author"]
    date_hierarchy = "created_at"


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "content_type", "size", "thread", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256"]
    raw_id_fields = ["thread", "message"]


@admin.register(Reader)
class ReaderAdmin(admin.ModelAdmin):
    list_display = ["thread", "user", "last_read_message_id", "archived_at"]
    list_filter = [("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "thread__subject"]
    raw_id_fields = ["thread", "user"]
