from django.urls import include, path

from members import views

app_name = "members"
urlpatterns = [
    path("", views.search, name="search"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:member_pk>/addresses/", include("mailaddresses.urls")),
]
