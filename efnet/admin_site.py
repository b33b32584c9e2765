from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse


class EfnetAdminSite(admin.AdminSite):
    """The Django admin, for admins only, behind the same two-factor login as the portal."""

    site_header = "EFネット事務局 管理サイト"
    site_title = "EFネット管理"

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_staff and user.is_verified() and user.is_admin)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def refuse_logged_in_non_admins(request, *args, **kwargs):
            user = request.user
            if user.is_authenticated and user.is_verified() and not self.has_permission(request):
                raise PermissionDenied  # a plain 403, rather than a loop through the login page
            return inner(request, *args, **kwargs)

        return refuse_logged_in_non_admins

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and request.user.is_verified():
            # Logged in, but not an admin: sending them to the login page again would loop.
            raise PermissionDenied
        # One login for everything: the portal's, with its second factor and lockout.
        return redirect(f"{reverse('login')}?next={request.get_full_path()}")


class EfnetAdminConfig(AdminConfig):
    default_site = "efnet.admin_site.EfnetAdminSite"
