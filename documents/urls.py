from django.urls import path

from documents import views

app_name = "documents"
urlpatterns = [
    path("members/<int:pk>/card/", views.card_issue, name="card_issue"),
    path("members/<int:pk>/address-list/", views.address_list_issue, name="address_list_issue"),
    path("members/<int:pk>/password-reset/", views.password_reset, name="password_reset"),
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/address-lists/", views.address_batch_create, name="address_batch_create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("batches/<int:pk>/download/", views.batch_download, name="batch_download"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/progress/", views.export_progress, name="export_progress"),
    path("exports/<int:pk>/cancel/", views.export_cancel, name="export_cancel"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
