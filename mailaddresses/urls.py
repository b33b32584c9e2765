from django.urls import path

from mailaddresses import views

app_name = "mailaddresses"
urlpatterns = [
    path("new/", views.add, name="add"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
]
