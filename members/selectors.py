from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Func, OuterRef, Q, QuerySet, Subquery

from efnet import normalize
from efnet.scoping import members_visible_to


def member_search(
    *,
    user,
    query: str = "",
    office_id: int | None = None,
    include_inactive: bool = False,
    campaign=None,
    state: str = "",
) -> QuerySet:
    """Members visible to ``user`` matching what a clerk typed: a member number (full-width digits are
    fine), company name, kana reading, BIGLOBE user ID, or any mail address, additional ones included.

    Each condition is one indexed column: the member number (a prefix, on PostgreSQL through its
    ``varchar_pattern_ops`` index) and ``search_key`` (a substring, on PostgreSQL through its trigram GIN
    index), where name, kana, IDs and addresses are kept in one normalised form (``normalize.search_text``:
    width, kana, 異体字). ``contains`` on the lower-cased key is a plain ``LIKE``, which the trigram index
    serves; ``icontains`` would wrap it in ``UPPER()`` and scan."""
    qs = members_visible_to(user)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if office_id:
        qs = qs.filter(office_id=office_id)
    if campaign is not None:
        # The member's state in the campaign, from the stored per-member progress (one row per member).
        from tracking.models import MemberProgress
        from tracking.selectors import INCOMPLETE, OPEN_STATUSES

        progress = MemberProgress.objects.filter(campaign=campaign, member=OuterRef("pk"))
        qs = qs.annotate(progress_state=Subquery(progress.values("state")[:1]))
        if state == INCOMPLETE:
            qs = qs.filter(progress_state__in=OPEN_STATUSES)
        elif state:
            qs = qs.filter(progress_state=state)
    condition = member_text_q(query)
    if condition is None:
        return qs.order_by("number")
    return qs.filter(condition).order_by("number")


def member_text_q(query: str, prefix: str = "") -> Q | None:
    """The search condition for what a clerk typed, on a model that reaches Member through ``prefix``
    (e.g. ``"member__"``); None when nothing was typed."""
    text = normalize.search_text(query)
    if not text:
        return None
    condition = Q(**{f"{prefix}search_key__contains": text})
    if len(text) <= SHORT_QUERY and all(ord(c) > 0x7F for c in text):
        # No trigram in one or two characters: on PostgreSQL the index of the characters and pairs of the
        # keys' non-ASCII text (names, readings) narrows first. Short ASCII (ab, 12) scans, as before.
        condition &= Q(ShortGramsContain(f"{prefix}search_key", text=text))
    number = normalize.member_number(query)
    if number.isdigit():
        condition |= Q(**{f"{prefix}number__startswith": number})
    return condition


SHORT_QUERY = 2


class ShortGramsContain(Func):
    """``efnet_short_grams(key) @> ARRAY[text]`` (migration members/0006): the key holds ``text`` (one or two
    non-ASCII characters) somewhere. Only narrows what ``LIKE`` then checks; elsewhere it is always true."""

    output_field = BooleanField()

    def __init__(self, expression, *, text: str):
        super().__init__(expression)
        self.text = text

    def as_sql(self, compiler, connection, **extra):
        if connection.vendor != "postgresql":
            return "1 = 1", []
        key_sql, key_params = compiler.compile(self.source_expressions[0])
        return f"efnet_short_grams({key_sql}) @> ARRAY[%s]::text[]", [*key_params, self.text]


def member_addresses(member) -> QuerySet:
    return member.additional_addresses.order_by("slot")


@dataclass(frozen=True)
class ReturnFax:
    number: str
    to: str  # who receives it: the office, or the 事務局


def return_fax_for(offices: Iterable) -> dict[int, ReturnFax]:
    """Where the FAX reply forms of members of ``offices`` go back to: the office's FAX number, else the
    事務局's. A form without a number cannot come back, so an office with neither is refused by name."""
    from members.models import Secretariat

    secretariat = Secretariat.get()
    found, missing = {}, []
    for office in sorted(set(offices), key=lambda o: (o.sort_order, o.pk)):
        if office.fax:
            found[office.pk] = ReturnFax(office.fax, office.name)
        elif secretariat.fax:
            found[office.pk] = ReturnFax(secretariat.fax, secretariat.name)
        else:
            missing.append(office.name)
    if missing:
        raise ValidationError(
            f"{'、'.join(missing)}のFAX番号も事務局のFAX番号も登録されていないため、FAX返信用紙を印刷できません"
            "（返送先のない用紙は送りません）。管理画面で営業所または事務局のFAX番号を登録してください。",
            code="no_return_fax",
        )
    return found
