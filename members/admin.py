from django.contrib import admin

from members.models import Member, MemberCard, SalesOffice, Secretariat


@admin.register(SalesOffice)
class SalesOfficeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "phone", "fax", "code", "sort_order"]


@admin.register(Secretariat)
class SecretariatAdmin(admin.ModelAdmin):
    """One row (the migration creates it): edited, never added or deleted."""

    list_display = ["name", "fax"]

    def has_add_permission(self, request):
        return not Secretariat.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    # The encrypted password field is not editable, so neither list nor form can show it.
    list_display = ["number", "name", "office", "biglobe_user_id", "email", "is_active"]
    list_filter = ["office", "is_active"]
    search_fields = ["number", "name", "name_kana", "biglobe_user_id", "email"]
    list_select_related = ["office"]


@admin.register(MemberCard)
class MemberCardAdmin(admin.ModelAdmin):
    list_display = ["serial", "member", "reason", "issued_on", "issued_by", "office"]
    list_select_related = ["member", "issued_by", "office"]

    def has_add_permission(self, request):
        return False  # cards are issued through the portal, which renders and audits them

    def has_change_permission(self, request, obj=None):
        return False
