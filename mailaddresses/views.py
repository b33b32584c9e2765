from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from efnet.permissions import require_member_editor, require_reveal
from efnet.scoping import get_visible_or_404
from mailaddresses import services
from mailaddresses.forms import AddressForm, AddressPasswordForm
from mailaddresses.models import AdditionalMailAddress
from members.models import Member
from members.views import reveal_response


def _get_member_and_address(request, member_pk, pk=None):
    member = get_visible_or_404(request.user, Member.objects.select_related("office"), pk=member_pk)
    address = None
    if pk is not None:
        # An address of another member (of this office or another) is refused and audited, not just a 404.
        address = get_visible_or_404(
            request.user,
            AdditionalMailAddress.objects.select_related("member__office"),
            office_path="member__office",
            within={"member_id": member.pk},
            pk=pk,
        )
    return member, address


@require_member_editor
@sensitive_post_parameters("password")
def add(request, member_pk):
    member, _ = _get_member_and_address(request, member_pk)
    form = AddressForm(request.POST or None, user=request.user)
    password_form = AddressPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and password_form.is_valid():
        try:
            address = services.address_add(
                actor=request.user,
                member=member,
                fields=form.cleaned_data,
                password=password_form.cleaned_data["password"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"追加メールアドレス{address.slot}を登録しました。")
            return redirect("members:detail", pk=member.pk)
    return render(request, "mailaddresses/form.html", {"form": form, "password_form": password_form, "member": member})


@require_member_editor
def edit(request, member_pk, pk):
    member, address = _get_member_and_address(request, member_pk, pk)
    form = AddressForm(request.POST or None, instance=address, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            fresh = type(address).objects.get(pk=address.pk)
            services.address_update(actor=request.user, address=fresh, fields=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "追加メールアドレスを更新しました。")
            return redirect("members:detail", pk=member.pk)
    return render(request, "mailaddresses/form.html", {"form": form, "member": member, "address": address})


@require_POST
@never_cache
@require_reveal
@sensitive_post_parameters("password")
def reveal(request, member_pk, pk):
    member, address = _get_member_and_address(request, member_pk, pk)
    return reveal_response(request, member=member, address=address)
