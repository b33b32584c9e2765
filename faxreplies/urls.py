from django.urls import path

from faxreplies import views

app_name = "faxreplies"
urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("pages/<int:pk>/image.png", views.page_image, name="page_image"),
    path("pages/<int:pk>/confirm/", views.page_confirm, name="page_confirm"),
    path("pages/<int:pk>/match/", views.page_match, name="page_match"),
    path("pages/<int:pk>/dismiss/", views.page_dismiss, name="page_dismiss"),
]
