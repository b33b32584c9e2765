from django.urls import path

from tracking import views

app_name = "tracking"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("members/", views.member_list, name="member_list"),
    path("members/export/<str:fmt>/", views.member_export, name="member_export"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/bulk/", views.bulk_update, name="bulk_update"),
    path("accounts/<int:pk>/record/", views.account_record, name="account_record"),
    path("members/<int:pk>/call/", views.member_call_record, name="member_call_record"),
    path("members/<int:pk>/done/", views.member_accounts_done, name="member_accounts_done"),
    path("members/<int:pk>/self-report-link/", views.self_report_link_create, name="self_report_link_create"),
    path("r/<str:token>/", views.self_report, name="self_report"),
]
