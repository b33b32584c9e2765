from django.contrib import admin

from mailaddresses.models import AdditionalMailAddress, AddressListIssue


@admin.register(AdditionalMailAddress)
class AdditionalMailAddressAdmin(admin.ModelAdmin):
    list_display = ["address", "member", "slot", "login_id", "issued_on", "is_active"]
    search_fields = ["address", "login_id", "member__number"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]


@admin.register(AddressListIssue)
class AddressListIssueAdmin(admin.ModelAdmin):
    list_display = ["serial", "member", "reason", "issued_on", "highlight_date", "issued_by"]
    list_select_related = ["member", "issued_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
