"""Nothing the portal renders is kept by a browser or a proxy cache.

Staff pages show members' personal data (names, addresses, IDs, statuses, the audit log) and the self-report
page shows a member's accounts. Marking each view ``never_cache`` is one more thing a new view can forget, so
this middleware marks every response the application itself produces ``no-store``. Static files never reach it:
WhiteNoise answers them earlier in the middleware chain, with its own long-lived caching headers.
"""

from django.conf import settings


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(settings.STATIC_URL):
            return response
        # A view that chose its own policy (never_cache, a download's no-store) keeps it.
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        if "no-store" in response["Cache-Control"] and not response.has_header("Pragma"):
            response["Pragma"] = "no-cache"  # for HTTP/1.0 proxies
        return response
