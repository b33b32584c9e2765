from django.contrib import admin
from django.urls import include, path

from efnet import auth_views, views

# Every 403, whoever raised it, is audited on its way out.
handler403 = "efnet.views.permission_denied"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", auth_views.login_view, name="login"),
    path("login/verify/", auth_views.verify_view, name="login_verify"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("account/", auth_views.account_view, name="account"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export/<str:fmt>/", views.audit_log_export, name="audit_log_export"),
    path("members/", include("members.urls")),
    path("tracking/", include("tracking.urls")),
    path("documents/", include("documents.urls")),
    path("notices/", include("notices.urls")),
    path("faxreplies/", include("faxreplies.urls")),
    path("imports/", include("imports.urls")),
    path("admin/", admin.site.urls),
]
