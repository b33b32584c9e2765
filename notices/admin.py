from django.contrib import admin

from notices.models import Delivery, Notice, NoticeTemplate


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "title"]


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    # Read-only here: approval and sending go through the notices pages (services, audit).
    list_display = ["__str__", "campaign", "state", "author", "approved_by", "created_at"]
    list_filter = ["state", "campaign"]
    readonly_fields = [f.name for f in Notice._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["notice", "member", "channel", "status", "attempts", "sent_at", "message_id"]
    list_filter = ["status", "channel", "notice"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    raw_id_fields = ["member"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
