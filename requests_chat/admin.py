from django.contrib import admin

from .models import Document, Message, ReadState, Request


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    # A tuple: the stubs type the two attributes differently, and a tuple fits both.
    fields = ("created_at", "author_name", "author_role", "body", "client_id")
    readonly_fields = fields
    can_delete = False


@admin.register(Request)
class RequestAdmin(admin.ModelAdmin):
    list_display = ["pk", "prescription", "created_by", "created_at", "last_message_at"]
    list_filter = ["created_at", "prescription__status", "prescription__pharmacy"]
    search_fields = [
        "prescription__rx_number",
        "prescription__patient__last_name",
        "prescription__prescriber__last_name",
        "created_by__email",
    ]
    raw_id_fields = ["prescription", "created_by"]
    date_hierarchy = "created_at"
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "request", "author_name", "author_role", "created_at"]
    list_filter = ["author_role", "created_at"]
    search_fields = [
        "body",
        "author_name",
        "author__email",
        "client_id",
        "request__prescription__rx_number",
    ]
    raw_id_fields = ["request", "author"]
    date_hierarchy = "created_at"


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["pk", "title", "request", "size", "page_count", "uploaded_by", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["title", "original_name", "sha256", "request__prescription__rx_number"]
    raw_id_fields = ["request", "message", "uploaded_by"]
    readonly_fields = ["file", "sha256", "size", "page_count", "content_type"]


@admin.register(ReadState)
class ReadStateAdmin(admin.ModelAdmin):
    list_display = ["user", "request", "last_read_message_id", "updated_at"]
    search_fields = ["user__email"]
    list_filter = ["updated_at"]
    raw_id_fields = ["user", "request"]
