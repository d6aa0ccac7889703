from django.contrib import admin

from .models import Instruction, InstructionRead


class InstructionReadInline(admin.TabularInline):
    model = InstructionRead
    extra = 0
    fields = ["reader", "on_behalf_of", "first_read_at"]
    readonly_fields = ["reader", "on_behalf_of", "first_read_at"]
    can_delete = False


@admin.register(Instruction)
class InstructionAdmin(admin.ModelAdmin):
    list_display = ["title", "chart", "author_name", "published_at", "unpublished_at"]
    list_filter = ["chart__clinic", ("unpublished_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "chart__legal_last_name", "chart__legal_first_name", "author_name"]
    raw_id_fields = ["chart", "author", "updated_by", "unpublished_by"]
    readonly_fields = ["pdf_sha256", "pdf_size", "pdf_pages"]
    date_hierarchy = "published_at"
    inlines = [InstructionReadInline]


@admin.register(InstructionRead)
class InstructionReadAdmin(admin.ModelAdmin):
    list_display = ["instruction", "reader", "on_behalf_of", "first_read_at"]
    search_fields = ["instruction__title", "reader__email", "on_behalf_of"]
    raw_id_fields = ["instruction", "reader"]
