"""Staff login in two steps: password (django-axes counts failures per username), then a TOTP code."""

import time

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet import audit
from efnet.middleware import public

PENDING_USER = "_efnet_pending_user"
PENDING_BACKEND = "_efnet_pending_backend"
PENDING_NEXT = "_efnet_pending_next"
AUTH_AT = "_efnet_auth_at"


class PasswordStepForm(forms.Form):
    username = forms.CharField(label="ユーザー名", max_length=150)
    password = forms.CharField(label="パスワード", widget=forms.PasswordInput)


class TokenStepForm(forms.Form):
    token = forms.CharField(
        label="確認コード（6桁）",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_token(self):
        from efnet.normalize import nfkc

        return nfkc(self.cleaned_data["token"]).replace(" ", "")


def _safe_next(request, candidate):
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def mark_authenticated_now(request):
    request.session[AUTH_AT] = int(time.time())


def recently_authenticated(request) -> bool:
    at = request.session.get(AUTH_AT, 0)
    return time.time() - at <= settings.REAUTH_MAX_AGE_SECONDS


@public
@never_cache
@csrf_protect
@sensitive_post_parameters("password")
def login_view(request):
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_safe_next(request, request.GET.get("next")))
    form = PasswordStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["username"], password=form.cleaned_data["password"])
        if user is not None and user.is_active:
            request.session.cycle_key()
            request.session[PENDING_USER] = user.pk
            request.session[PENDING_BACKEND] = user.backend
            request.session[PENDING_NEXT] = request.POST.get("next") or request.GET.get("next") or ""
            return redirect("login_verify")
        form.add_error(None, "ユーザー名またはパスワードが正しくありません。")
    return render(request, "registration/login.html", {"form": form, "next": request.GET.get("next", "")})


@public
@never_cache
@csrf_protect
def verify_view(request):
    user_pk = request.session.get(PENDING_USER)
    if user_pk is None:
        return redirect("login")
    user = get_user_model().objects.filter(pk=user_pk, is_active=True).first()
    if user is None:
        request.session.flush()
        return redirect("login")
    form = TokenStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _verify_token(user, form.cleaned_data["token"])
        if device is not None:
            next_url = _safe_next(request, request.session.get(PENDING_NEXT))
            user.backend = request.session[PENDING_BACKEND]
            login(request, user)
            otp_login(request, device)
            mark_authenticated_now(request)
            return HttpResponseRedirect(next_url)
        audit.record("auth.otp_failed", actor=None, target=user, details={"username": user.username})
        form.add_error("token", "確認コードが正しくありません。認証アプリの最新のコードを入力してください。")
    return render(request, "registration/verify.html", {"form": form, "pending_user": user})


def _verify_token(user, token):
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=True):
        # verify_is_allowed/verify_token also apply django-otp's throttling of repeated failures.
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            return device
    return None


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "ログアウトしました。")
    return redirect("login")


class ReauthForm(forms.Form):
    # The page (or the fragment htmx swaps in) asks for one thing: the cursor goes straight there.
    password = forms.CharField(
        label="ログインパスワード",
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"}),
    )


def reauth_check(request) -> tuple[ReauthForm | None, HttpResponse | None]:
    """The one re-authentication step before a password is shown or printed.

    Returns ``(None, None)`` when the last login is recent or the password just entered is right;
    ``(form, None)`` when the form is to be shown (again, with its error); ``(None, response)`` when this
    attempt locked the user out: the session is then logged out and ``response`` says so.

    The password goes through ``authenticate`` so that django-axes counts a wrong one against the same
    username lockout as the login page (same limit, same cool-off): a signed-in session must not be a place
    to guess the password without limit. A locked user is refused even with the right password.
    """
    if recently_authenticated(request):
        return None, None
    form = ReauthForm(request.POST if "password" in request.POST else None)
    if not (form.is_bound and form.is_valid()):
        return form, None
    user = request.user
    request.efnet_reauth = True  # efnet.signals audits the failure as auth.reauth_failed, not a login failure
    authenticated = authenticate(request, username=user.get_username(), password=form.cleaned_data["password"])
    if getattr(request, "axes_locked_out", False):
        logout(request)
        return None, lockout_response(request)
    if authenticated is None or authenticated.pk != user.pk:
        form.add_error("password", "パスワードが正しくありません。")
        return form, None
    if settings.AXES_RESET_ON_SUCCESS:
        # As a successful login does: the count is of consecutive failures.
        AxesProxyHandler.reset_attempts(username=user.get_username())
    mark_authenticated_now(request)
    return None, None


def lockout_response(request, original_response=None, credentials=None):
    """The page for a locked username (django-axes calls this too, for the same request: build it once)."""
    cached = getattr(request, "_efnet_lockout_response", None)
    if cached is not None:
        return cached
    cooloff_minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    reauth = getattr(request, "efnet_reauth", False)
    if reauth and request.headers.get("HX-Request"):
        # The re-auth form of the member page is posted by htmx, which would not show an error page: send the
        # browser to the login page, with the reason.
        messages.error(request, reauth_locked_message(cooloff_minutes))
        response = HttpResponse(status=429)
        response["HX-Redirect"] = reverse("login")
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"cooloff_minutes": cooloff_minutes, "reauth": reauth},
            status=429,
        )
    request._efnet_lockout_response = response
    return response


def reauth_locked_message(cooloff_minutes: int) -> str:
    return (
        "パスワードの再入力を続けて間違えたため、ログアウトしました。"
        f"このユーザー名でのログインを{cooloff_minutes}分間停止しています。"
    )


class StaffPasswordChangeForm(PasswordChangeForm):
    """Django's password change (the project's AUTH_PASSWORD_VALIDATORS on the new one), with the old password
    checked through ``authenticate`` as the re-auth step is: a wrong one counts toward the same username
    lockout as the login page, so a signed-in session is no place to guess the password without limit."""

    def __init__(self, request, *args, **kwargs):
        self.request = request
        super().__init__(request.user, *args, **kwargs)
        self.fields["old_password"].label = "現在のパスワード"
        self.fields["new_password1"].label = "新しいパスワード"
        self.fields["new_password2"].label = "新しいパスワード（確認）"

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        self.request.efnet_reauth = True  # audited as auth.reauth_failed (efnet.signals), not a login failure
        user = authenticate(self.request, username=self.user.get_username(), password=old)
        if user is None or user.pk != self.user.pk:
            raise forms.ValidationError("現在のパスワードが正しくありません。", code="password_incorrect")
        return old


@never_cache
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def account_view(request):
    """The staff member's own account: change the password (the session stays logged in), and the second
    factor's status (an admin resets a lost one; enrolment is ``manage.py totp_enroll``)."""
    from efnet.staff import second_factor_status, staff_password_change

    form = StaffPasswordChangeForm(request, request.POST or None)
    if request.method == "POST":
        valid = form.is_valid()
        if getattr(request, "axes_locked_out", False):
            logout(request)
            return lockout_response(request)
        if valid:
            staff_password_change(user=request.user, new_password=form.cleaned_data["new_password1"])
            if settings.AXES_RESET_ON_SUCCESS:
                AxesProxyHandler.reset_attempts(username=request.user.get_username())
            update_session_auth_hash(request, request.user)  # other sessions end; this one stays
            mark_authenticated_now(request)
            messages.success(request, "パスワードを変更しました。")
            return redirect("account")
    context = {"form": form, "second_factor": second_factor_status(request.user)}
    return render(request, "registration/account.html", context)
