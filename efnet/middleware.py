from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from efnet.request_context import client_ip, current_ip


class RequestContextMiddleware:
    """Makes the client address available to audit events written inside services."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


def public(view_func):
    """Marks a view reachable without a staff login (login pages, the member self-report link)."""
    view_func.efnet_public = True
    return view_func


class StaffLoginRequiredMiddleware:
    """Every view needs a staff user who passed the second factor, unless it is marked @public.

    Deny by default, so a view added later cannot forget its login check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "efnet_public", False) or request.path.startswith(settings.STATIC_URL):
            return None
        if getattr(view_func, "view_class", None) is not None and getattr(view_func.view_class, "efnet_public", False):
            return None
        user = request.user
        if user.is_authenticated and user.is_verified():
            return None
        return redirect(f"{reverse('login')}?next={request.get_full_path()}")
