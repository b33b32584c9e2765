"""Staff login in two steps: password (django-axes counts failures per username), then a TOTP code."""

import time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.http import HttpResponseRedirect
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
    password = forms.CharField(label="ログインパスワード", widget=forms.PasswordInput)


def lockout_response(request, original_response=None, credentials=None):
    return render(
        request,
        "registration/locked_out.html",
        {"cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
        status=429,
    )
