from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet import staff
from efnet.models import AuditEvent, User

# django-otp's own admin page for devices is English throughout and shows key material: staff devices are
# enrolled with `manage.py totp_enroll` and reset from the staff list (the action below), so it is not offered.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ["username", "display_name", "office", "is_active", "second_factor", "last_login"]
    list_filter = ["office", "groups", "is_active"]
    fieldsets = UserAdmin.fieldsets + (("所属", {"fields": ("office", "display_name")}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("所属", {"fields": ("office", "display_name")}),)
    actions = ["reset_second_factor"]

    @admin.display(description="二要素認証")
    def second_factor(self, obj):
        return "設定済み" if staff.second_factor_status(obj)["enrolled"] else "未設定"

    @admin.action(description="選んだスタッフの二要素認証（認証アプリ）をリセットする")
    def reset_second_factor(self, request, queryset):
        users = list(queryset)
        for user in users:
            staff.staff_second_factor_reset(user=user, actor=request.user)
        names = "、".join(u.get_username() for u in users)
        self.message_user(
            request,
            # The admin capitalises a message's first letter: start with the Japanese, not a username.
            f"二要素認証をリセットしました：{names}。新しい認証アプリを manage.py totp_enroll で登録するまで"
            "ログインできません。",
            messages.SUCCESS,
        )


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
