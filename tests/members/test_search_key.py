"""One normalised search key: the same results on SQLite and PostgreSQL (the suite runs on both), and on
PostgreSQL a query shape its indexes can serve."""

import re

import pytest
from django.db import connection

from members.models import Member
from members.selectors import member_search
from tests.factories import AddressFactory, MemberFactory

pytestmark = pytest.mark.django_db

# The shared fixture: what is stored, as a clerk or an import would have typed it.
FIXTURE = [
    ("300001", "髙橋商事株式会社", "タカハシショウジ", "tk300001", "info@takahashi.example"),
    ("300002", "高橋工業", "タカハシコウギョウ", "tk300002", ""),
    ("300003", "山﨑電機", "ヤマサキデンキ", "ym300003", "YAMASAKI@Denki.example"),
    ("300004", "𠮷田ｼｮｳｼﾞ", "ﾖｼﾀﾞｼｮｳｼﾞ", "ys300004", ""),
    ("300005", "キヤノン販売", "キヤノンハンバイ", "ca300005", ""),
    ("300006", "青葉・フーズ", "アオバ フーズ", "ab300006", ""),
    ("300007", "大高橋梁", "オオタカキョウリョウ", "ot300007", ""),  # 高橋 in the middle of a name
]

# (typed, numbers expected, in order). The same list is asserted on every database.
CASES = [
    ("高橋", ["300001", "300002", "300007"]),  # finds 髙橋 too, and 高橋 inside a name
    ("髙橋", ["300001", "300002", "300007"]),  # and the other way round
    ("橋", ["300001", "300002", "300007"]),  # one character
    ("﨑", ["300003"]),  # one character, a variant
    ("ｶﾊ", ["300001", "300002"]),  # two characters inside a reading, half-width
    ("梁|", ["300007"]),  # the separator typed with a character is dropped: one character
    ("ka", ["300001", "300002"]),  # two letters inside a mail address / user ID (scanned)
    ("高t", []),  # a short query mixing scripts (scanned)
    ("たかはし", ["300001", "300002"]),  # hiragana → the katakana reading
    ("ﾀｶﾊｼ", ["300001", "300002"]),  # half-width katakana
    ("山崎", ["300003"]),  # 﨑
    ("吉田", ["300004"]),  # 𠮷, stored half-width ｼｮｳｼﾞ
    ("吉田ショウジ", ["300004"]),
    ("キャノン", ["300005"]),  # small kana typed, large kana stored
    ("青葉フーズ", ["300006"]),  # 中黒 and spaces are not significant
    ("アオバフーズ", ["300006"]),
    ("yamasaki@denki", ["300003"]),  # mail address, any case
    ("ＹＡＭＡＳＡＫＩ", ["300003"]),  # full-width letters
    ("extra-addr", ["300002"]),  # an additional address
    ("TK300001", ["300001"]),  # a BIGLOBE user ID, exactly
    ("３００００３", ["300003"]),  # a member number, full-width
    ("30000", ["300001", "300002", "300003", "300004", "300005", "300006", "300007"]),  # a number prefix
    ("30", ["300001", "300002", "300003", "300004", "300005", "300006", "300007"]),  # short: number or key
    ("ショウジ高橋", []),  # no match across two values
    ("|", None),  # the key's separator alone is no query: everything
]


@pytest.fixture
def shared(world):
    members = {}
    for number, name, kana, user_id, email in FIXTURE:
        members[number] = MemberFactory(
            number=number,
            name=name,
            name_kana=kana,
            biglobe_user_id=user_id,
            email=email,
            office=world.office_a,
        )
    AddressFactory(member=members["300002"], slot=1, address="extra-addr@takahashi.example")
    # Clean-time normalisation is bypassed by factories; the key must not depend on it.
    return members


@pytest.mark.parametrize(("typed", "expected"), CASES)
def test_search_results_are_the_same_on_every_database(world, shared, typed, expected):
    found = list(member_search(user=world.head, query=typed).values_list("number", flat=True))
    if expected is None:
        assert set(found) >= set(shared)
    else:
        assert found == expected, connection.vendor


def test_the_key_follows_an_additional_address_change(world, shared):
    address = AddressFactory(member=shared["300005"], slot=1, address="first@canon.example")
    assert list(member_search(user=world.head, query="first@canon").values_list("number", flat=True)) == ["300005"]
    address.address = "second@canon.example"
    address.save()
    assert not member_search(user=world.head, query="first@canon").exists()
    assert member_search(user=world.head, query="second@canon").get().number == "300005"
    address.delete()
    assert not member_search(user=world.head, query="second@canon").exists()


def test_the_key_follows_a_member_edit(world, shared):
    member = shared["300002"]
    member.name = "髙島屋商店"
    member.save(update_fields=["name"])
    assert Member.objects.get(pk=member.pk).search_key.startswith("|高島屋商店|")
    assert member_search(user=world.head, query="高島屋").get().number == "300002"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram and pattern indexes exist on PostgreSQL only")
@pytest.mark.parametrize(
    ("typed", "index"),
    [
        ("タカハシ", "members_member_search_trgm"),
        ("300003", r"members_member_number_\w+_like"),  # the unique field's own pattern index
        ("高橋", "members_member_short_grams"),
        ("橋", "members_member_short_grams"),
    ],
)
def test_postgresql_can_answer_a_search_from_its_indexes(world, shared, typed, index):
    """With full scans priced out (sequential, and index scans that walk a whole index for the order), the
    plan must name the index as a condition: the query shape lets PostgreSQL use it (an UPPER() around the
    column, or an OR over an EXISTS, would leave it no way to). The paginator's count has this shape."""
    # Inactive members included, so the partial indexes on active members are no candidate on a tiny table.
    qs = member_search(user=world.head, query=typed, include_inactive=True).order_by().values("pk")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert re.search(index, plan), plan


def test_the_search_page_sorts_few_matches_by_number(client, world, shared):
    """A search with few matches has them sorted (not read in number order through an index): the same
    order, by number, and the page's count is the one the paginator already made."""
    from tests.conftest import login

    MemberFactory(number="100001", name="高橋物産", office=world.office_a)  # created last, numbered first
    login(client, world.head)
    page = client.get("/members/", {"q": "高橋"}).context["page"]
    assert [m.number for m in page.object_list] == ["100001", "300001", "300002", "300007"]
    assert page.paginator.count == 4
    # A requested sort is kept as asked.
    page = client.get("/members/", {"q": "高橋", "sort": "-number"}).context["page"]
    assert [m.number for m in page.object_list] == ["300007", "300002", "300001", "100001"]
