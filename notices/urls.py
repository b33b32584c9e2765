from django.urls import path

from notices import views

app_name = "notices"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("new/", views.create, name="create"),
    path("copy/", views.copy_template, name="copy_template"),
    path("audience/", views.audience, name="audience"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/test-send/", views.test_send, name="test_send"),
    path("<int:pk>/request-approval/", views.request_approval, name="request_approval"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/bundle.pdf", views.bundle, name="bundle"),
    path("<int:pk>/bundle/", views.bundle_job, name="bundle_job"),
    path("<int:pk>/printed/", views.mark_printed, name="mark_printed"),
    path("<int:pk>/deliveries/", views.deliveries_bulk, name="deliveries_bulk"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
    path("deliveries/<int:pk>/resolve/", views.delivery_resolve, name="delivery_resolve"),
]
