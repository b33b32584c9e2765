from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from efnet import audit
from efnet.middleware import mark_session_started


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_session_started(request)
    audit.record("auth.login", actor=user, target=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record("auth.logout", actor=user, target=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # credentials has the password already masked by Django; keep only the username.
    locked = bool(getattr(request, "axes_locked_out", False))
    if getattr(request, "efnet_reauth", False):
        # A signed-in user re-entering the password before a reveal (efnet.auth_views.reauth_check).
        user = request.user
        details = {"username": credentials.get("username", ""), "locked": locked}
        audit.record("auth.reauth_failed", actor=user, target=user, details=details)
        if locked:
            audit.record("auth.locked_out", actor=user, target=user, details=details)
        return
    audit.record(
        "auth.locked_out" if locked else "auth.login_failed",
        details={"username": credentials.get("username", "")},
    )
