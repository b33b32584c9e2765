from django.contrib import admin, messages

from tracking import services
from tracking.models import AccountStatus, Campaign, StatusChange


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "started_on", "deadline", "is_active"]
    list_filter = ["is_active"]
    actions = ["enroll_all"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and obj.is_active:
            created = services.campaign_enroll_all(campaign=obj, actor=request.user)
            messages.info(request, f"{created}件のアカウントを「未案内」で登録しました。")

    @admin.action(description="有効な全アカウントをこのキャンペーンに登録（登録済みはそのまま）")
    def enroll_all(self, request, queryset):
        for campaign in queryset:
            created = services.campaign_enroll_all(campaign=campaign, actor=request.user)
            messages.info(request, f"{campaign}：{created}件を登録しました。")


@admin.register(AccountStatus)
class AccountStatusAdmin(admin.ModelAdmin):
    """Read-only here: statuses change through the portal's pages (checked, versioned and audited)."""

    list_display = ["member", "account_label", "campaign", "status", "status_on", "source", "recorded_by"]
    list_filter = ["campaign", "status", "source"]
    search_fields = ["member__number", "member__name", "address__address"]
    list_select_related = ["member", "address", "campaign", "recorded_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["account_status", "from_status", "to_status", "status_on", "source", "recorded_by", "applied"]
    list_filter = ["applied", "source"]
    list_select_related = ["account_status__member", "account_status__address", "recorded_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
