import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import empty

from efnet import audit
from efnet.request_context import client_ip, current_ip, current_request_id, request_id_for

request_logger = logging.getLogger("efnet.request")


class RequestLogMiddleware:
    """One log line per request, with its id; the id goes back in the ``X-Request-ID`` header and onto every
    log line written while the request is served (efnet.logging.RequestIdFilter).

    First in MIDDLEWARE, so the line covers everything, redirects to HTTPS included. The path is logged
    without its query string (search terms are personal data); the redaction filter on every handler removes
    a self-report token from the path.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request)
        token = current_request_id.set(request_id)
        started = time.monotonic()
        response = None
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            return response
        finally:
            request_logger.info(
                "%s %s %s %.0fms user=%s ip=%s",
                request.method,
                request.path,
                response.status_code if response is not None else 500,
                (time.monotonic() - started) * 1000,
                _user_id(request),
                client_ip(request) or "-",
            )
            current_request_id.reset(token)


def _user_id(request) -> str:
    """The user's id if the request already loaded the user (no extra query just to log it)."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return "-"
    return str(user.pk) if user.is_authenticated else "-"


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


SESSION_STARTED = "_efnet_session_started"


def mark_session_started(request):
    """Called at every login (efnet.signals): the absolute lifetime counts from here."""
    request.session[SESSION_STARTED] = int(time.time())


class SessionLifetimeMiddleware:
    """Ends a staff session ``SESSION_ABSOLUTE_SECONDS`` after its login, however active it has been.

    The idle timeout (``SESSION_COOKIE_AGE``, pushed forward by every request) alone lets a session that is
    used every few minutes, or kept alive by a forgotten tab's polling, live for ever. A session without a
    start stamp was not opened by our login and ends too. Sits after the message middleware (to say why) and
    before the login check, which then sends the request to the login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(SESSION_STARTED)
            if started is None or time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                user = request.user
                audit.record("auth.session_expired", actor=user, target=user, details={"started": started})
                logout(request)
                hours = settings.SESSION_ABSOLUTE_SECONDS / 3600
                messages.info(
                    request,
                    f"ログインから{hours:g}時間が経過したため、ログアウトしました。もう一度ログインしてください。",
                )
        return self.get_response(request)
