from django.db.models import Exists, OuterRef, Q, QuerySet

from efnet import normalize
from efnet.scoping import members_visible_to


def member_search(*, user, query: str = "", office_id: int | None = None, include_inactive: bool = False) -> QuerySet:
    """Members visible to ``user`` matching what a clerk typed: a member number (full-width digits are
    fine), company name, kana reading, BIGLOBE user ID, or any mail address, additional ones included."""
    from mailaddresses.models import AdditionalMailAddress

    qs = members_visible_to(user)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if office_id:
        qs = qs.filter(office_id=office_id)
    text = normalize.nfkc(query)
    if not text:
        return qs.order_by("number")
    number = normalize.member_number(text)
    ident = normalize.identifier(text)
    kana = normalize.kana(text)
    condition = (
        Q(name__icontains=text)
        | Q(name_kana__icontains=kana)
        | Q(biglobe_user_id__icontains=ident)
        | Q(email__icontains=ident)
        | Exists(AdditionalMailAddress.objects.filter(member=OuterRef("pk"), address__icontains=ident))
    )
    if number.isdigit():
        condition |= Q(number__startswith=number)
    return qs.filter(condition).order_by("number")


def member_addresses(member) -> QuerySet:
    return member.additional_addresses.order_by("slot")
