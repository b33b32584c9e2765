from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from efnet.models import AuditEvent, User


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "display_name", "office", "is_active", "last_login"]
    list_filter = ["office", "groups", "is_active"]
    fieldsets = UserAdmin.fieldsets + (("所属", {"fields": ("office", "display_name")}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("所属", {"fields": ("office", "display_name")}),)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "actor_name", "office", "target_repr", "ip"]
    list_filter = ["action", "office"]
    search_fields = ["action", "actor_name", "target_repr"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
