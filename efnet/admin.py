from django import forms
from django.contrib import admin, messages
from django.contrib.admin.templatetags import admin_list
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.templatetags.static import static
from django.utils.html import format_html
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet import audit_labels, staff
from efnet.models import AuditEvent, User

# django-otp's own admin page for devices is English throughout and shows key material: staff devices are
# enrolled with `manage.py totp_enroll` and reset from the staff list (the action below), so it is not offered.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


def _japanese_boolean_icon(field_val):
    """Django's yes/no icon, with its alt text in Japanese (Django writes True/False/None)."""
    name = {True: "yes", False: "no", None: "unknown"}[field_val]
    alt = {True: "はい", False: "いいえ", None: "不明"}[field_val]
    return format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{name}.svg"), alt)


# The admin looks the function up in this module on every call (admin.utils, admin.helpers).
admin_list._boolean_icon = _japanese_boolean_icon

PERMISSION_VERBS = {"add": "追加", "change": "変更", "delete": "削除", "view": "閲覧"}


def permission_label(permission) -> str:
    """「アプリ | モデル | 操作」 in Japanese: a Permission's stored name is English ("Can add group")."""
    model = permission.content_type.model_class()
    if model is None:
        return permission.name
    verb, _, rest = permission.codename.partition("_")
    action = PERMISSION_VERBS.get(verb) if rest == model._meta.model_name else None
    return f"{model._meta.app_config.verbose_name} | {model._meta.verbose_name} | {action or permission.name}"


class JapanesePermissionsMixin:
    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request=request, **kwargs)
        if db_field.name in ("permissions", "user_permissions") and isinstance(field, forms.ModelMultipleChoiceField):
            field.label_from_instance = permission_label
        return field


admin.site.unregister(Group)


@admin.register(Group)
class JapaneseGroupAdmin(JapanesePermissionsMixin, GroupAdmin):
    pass


@admin.register(User)
class StaffUserAdmin(JapanesePermissionsMixin, UserAdmin):
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
    list_display = ["created_at", "description", "actor_name", "office", "target_repr", "ip"]
    list_filter = ["office"]
    search_fields = ["action", "actor_name", "target_repr"]
    fields = [
        "created_at",
        "description",
        "actor_name",
        "actor_office",
        "office",
        "target_repr",
        "member_id",
        "ip",
        "details_text",
    ]
    readonly_fields = fields

    @admin.display(description="操作", ordering="action")
    def description(self, obj):
        return audit_labels.describe(obj.action)

    @admin.display(description="詳細")
    def details_text(self, obj):
        return audit_labels.details_text(obj.details, obj.action) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
