from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Value
from django.db.models.functions import Concat
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from efnet.auth_views import reauth_check
from efnet.ids import page_number
from efnet.permissions import require_member_editor, require_reveal
from efnet.scoping import get_visible_or_404
from efnet.sorting import sort_from
from members import selectors, services
from members.forms import InitialPasswordForm, MemberForm, MemberSearchForm
from members.models import Member
from tracking.selectors import current_campaign

PAGE_SIZE = 50
# A search with at most this many matches sorts them rather than reading members in number order.
SORT_MATCHES_UP_TO = 5000


def _get_member_for_user(request, pk) -> Member:
    return get_visible_or_404(request.user, Member.objects.select_related("office"), pk=pk)


SEARCH_SORTS = {
    "number": ("number",),
    "name": ("name", "number"),
    "kana": ("name_kana", "number"),
    "office": ("office__code", "number"),
    "state": ("progress_state", "number"),
}


def search(request):
    form = MemberSearchForm(request.GET or None, user=request.user)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    office = data.get("office")
    campaign = current_campaign()
    results = selectors.member_search(
        user=request.user,
        query=data.get("q", ""),
        office_id=office.pk if office else None,
        include_inactive=data.get("inactive", False),
        campaign=campaign,
        state=data.get("state", ""),
    )
    sorts = SEARCH_SORTS if campaign is not None else {k: v for k, v in SEARCH_SORTS.items() if k != "state"}
    sort, order = sort_from(request, sorts)
    if order:
        results = results.order_by(*order)
    query = data.get("q", "")
    paginator = Paginator(results, PAGE_SIZE)
    if query and not order and paginator.count <= SORT_MATCHES_UP_TO:
        # Few matches (the count is exact, read through the search indexes): sort them. Left to itself,
        # PostgreSQL may guess a name matches 1 % of members and walk them all in number order instead,
        # filtering each key (165 ms for 髙橋商事 at 100,000 members, against 1 ms for its 103 matches).
        # The same order: the number, through an expression no index holds.
        paginator.object_list = results.order_by(Concat("number", Value("")), "pk")
    page = paginator.get_page(page_number(request))
    if query and page.paginator.count == 1:
        # One hit for what the clerk typed: straight to the member.
        return redirect("members:detail", pk=page.object_list[0].pk)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "members/search.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "querystring": params.urlencode(),
            "sort": sort,
            "campaign": campaign,
        },
    )


def detail(request, pk):
    member = _get_member_for_user(request, pk)
    return render(
        request,
        "members/detail.html",
        {
            "member": member,
            "addresses": selectors.member_addresses(member),
            "cards": member.cards.select_related("issued_by", "office")[:20],
            "list_issues": member.address_list_issues.select_related("issued_by", "office")[:20],
        },
    )


@require_member_editor
@sensitive_post_parameters("password")
def create(request):
    form = MemberForm(request.POST or None, user=request.user)
    password_form = InitialPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and password_form.is_valid():
        try:
            member = services.member_create(
                actor=request.user, fields=form.cleaned_data, password=password_form.cleaned_data["password"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"会員 {member.number} を登録しました。")
            return redirect("members:detail", pk=member.pk)
    return render(request, "members/form.html", {"form": form, "password_form": password_form, "creating": True})


@require_member_editor
def edit(request, pk):
    member = _get_member_for_user(request, pk)
    form = MemberForm(request.POST or None, instance=member, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            # The form has written its values onto the instance; the service compares against the database.
            fresh = Member.objects.get(pk=member.pk)
            services.member_update(actor=request.user, member=fresh, fields=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "会員情報を更新しました。")
            return redirect("members:detail", pk=member.pk)
    return render(request, "members/form.html", {"form": form, "member": member, "creating": False})


def reveal_response(request, *, member, address=None):
    """Shared by the primary account and additional addresses: re-authenticate if needed, then reveal."""
    reauth_form, locked = reauth_check(request)
    if locked is not None:
        return locked
    context = {"member": member, "address": address, "reauth_form": reauth_form}
    if reauth_form is None:
        context["secret"] = services.member_password_reveal(actor=request.user, member=member, address=address)
    template = "members/_reveal.html" if request.htmx else "members/reveal_page.html"
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@never_cache
@require_reveal
@sensitive_post_parameters("password")
def reveal(request, pk):
    member = _get_member_for_user(request, pk)
    return reveal_response(request, member=member)
