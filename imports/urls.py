from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.batch_list, name="batch_list"),
    path("<int:pk>/", views.batch_detail, name="batch_detail"),
    path("<int:pk>/columns/", views.batch_map, name="batch_map"),
    path("<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("<int:pk>/errors.csv", views.batch_errors, name="batch_errors"),
    path("<int:pk>/apply/", views.batch_confirm, name="batch_confirm"),
    path("<int:pk>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("<int:pk>/undo/", views.batch_undo, name="batch_undo"),
    path("export/", views.export_members, name="export_members"),
    path("export/credentials/", views.export_credentials, name="export_credentials"),
]
