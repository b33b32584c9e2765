from django.urls import path

from tracking import views

app_name = "tracking"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("r/<str:token>/", views.self_report, name="self_report"),
]
