import pytest
from django.urls import reverse

from members.selectors import member_search
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(world):
    a = MemberFactory(number="012345", name="株式会社青葉商事", name_kana="アオバショウジ", office=world.office_a)
    b = MemberFactory(number="012399", name="大和工業", name_kana="ヤマトコウギョウ", office=world.office_a)
    AddressFactory(member=b, slot=1, address="sales-yamato@efnet-demo.example")
    hidden = MemberFactory(number="012346", name="株式会社青葉電機", name_kana="アオバデンキ", office=world.office_b)
    return a, b, hidden


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("０１２３４５", ["012345"]),  # full-width digits from an IME
        ("012345", ["012345"]),
        ("０１２－３４５", ["012345"]),  # hyphens and dashes between digit groups, as people write it
        ("01ー23―45", ["012345"]),
        ("012　345", ["012345"]),  # an ideographic space
        ("０１２－３", ["012345", "012399"]),  # a hyphenated prefix
        ("0123", ["012345", "012399"]),  # a prefix, office B's 012346 not among them
        ("青葉", ["012345"]),
        ("あおば", ["012345"]),  # hiragana finds the katakana reading
        ("ｱｵﾊﾞ", ["012345"]),  # half-width katakana too
        ("SALES-YAMATO", ["012399"]),  # an additional address, any case
        ("tst", None),  # BIGLOBE user IDs of the factory
    ],
)
def test_it_finds_members_by_what_the_clerk_types(world, members, typed, expected):
    found = list(member_search(user=world.clerk_a, query=typed).values_list("number", flat=True))
    if expected is None:
        assert found and all(n.startswith("0") or n.startswith("2") for n in found)
    else:
        assert found == expected


def test_it_never_returns_another_offices_members(world, members):
    assert "012346" not in member_search(user=world.clerk_a, query="青葉").values_list("number", flat=True)
    assert "012346" in member_search(user=world.head, query="青葉").values_list("number", flat=True)


def test_one_hit_opens_the_member_page(client, world, members):
    login(client, world.clerk_a)
    response = client.get(reverse("members:search"), {"q": "０１２３４５"})
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", args=[members[0].pk])


def test_the_list_is_paginated_and_filtered_by_office(client, world, members):
    MemberFactory.create_batch(55, office=world.office_b)
    login(client, world.head)
    response = client.get(reverse("members:search"), {"office": world.office_b.pk})
    body = response.content.decode()
    assert "57名" in body  # 55 + member_b + 012346
    assert "1 / 2 ページ" in body


def test_list_pages_show_no_password(client, world, members):
    login(client, world.clerk_a)
    body = client.get(reverse("members:search")).content.decode()
    assert world.member_a.biglobe_password not in body
    assert "v1:t1:" not in body
