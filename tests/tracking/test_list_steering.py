"""Lists a clerk can steer: the member state in search, sortable columns that keep the filters, the current
campaign chosen by default, and no status chosen in the bulk form."""

import re
from html import unescape

import pytest

from tests.conftest import login
from tests.factories import MemberFactory
from tracking.models import AccountStatus, Campaign, Status
from tracking.services import accounts_enroll, status_record

pytestmark = pytest.mark.django_db


def _done(member, campaign, actor):
    row = AccountStatus.objects.get(member=member, campaign=campaign, address=None)
    status_record(account_status=row, status=Status.DONE, actor=actor, source="電話", status_on=campaign.started_on)


@pytest.fixture
def done_member(world, campaign):
    m = MemberFactory(office=world.office_a, name="完了済商事")
    accounts_enroll(member=m)
    for row in AccountStatus.objects.filter(member=m, campaign=campaign):
        status_record(account_status=row, status=Status.DONE, actor=world.clerk_a, source="電話")
    return m


def _numbers(html: str) -> list[str]:
    return re.findall(r'href="/members/\d+/[^"]*">(\d+)</a>', html)


def test_search_shows_each_members_state_and_filters_by_it(client, world, campaign, done_member):
    login(client, world.clerk_a)
    page = client.get("/members/", {"q": "商事"}).content.decode()
    assert 'class="badge s-完了">完了</span>' in page and 'class="badge s-未案内">未案内</span>' in page
    # The only 完了 member: one hit goes straight to the member, as any single hit does.
    done = client.get("/members/", {"q": "商事", "state": "完了"})
    assert done.status_code == 302 and done["Location"] == f"/members/{done_member.pk}/"
    pending = client.get("/members/", {"state": "未完了"}).content.decode()
    assert world.member_a.number in _numbers(pending) and done_member.number not in _numbers(pending)


@pytest.mark.parametrize(
    ("url", "extra"),
    [("/tracking/members/", {"status": "未完了"}), ("/tracking/accounts/", {"status": "未案内"}), ("/members/", {})],
)
def test_sort_links_keep_the_filters_and_reverse_on_second_click(client, world, campaign, url, extra):
    for name in ("アアア商会", "ンンン商会"):
        accounts_enroll(member=MemberFactory(office=world.office_a, name=name))
    login(client, world.head)
    params = {"office": world.office_a.pk, **extra}
    page = client.get(url, params).content.decode()
    href = unescape(re.search(r'href="([^"]+)" data-sort="number"', page).group(1))
    assert f"office={world.office_a.pk}" in href and all(f"{k}=" in href for k in extra)
    ascending = client.get(url + href).content.decode()
    assert 'data-sorted="昇順"' in ascending
    back = unescape(re.search(r'href="([^"]+)" data-sort="number"', ascending).group(1))
    assert "sort=-number" in back
    descending = client.get(url + back).content.decode()
    numbers = [n for n in _numbers(descending) if n in _numbers(ascending)]
    assert numbers and numbers == sorted(numbers, reverse=True)
    assert world.member_b.number not in _numbers(descending)  # office B stays filtered out


def test_an_unknown_sort_key_keeps_the_default_order(client, world, campaign):
    login(client, world.clerk_a)
    assert client.get("/tracking/members/", {"sort": "member__biglobe_password"}).status_code == 200
    assert client.get("/members/", {"sort": "-password"}).status_code == 200


def test_account_list_shows_the_current_campaign_chosen(client, world, campaign):
    Campaign.objects.create(name="旧キャンペーン", started_on=campaign.started_on.replace(year=2025), is_active=False)
    login(client, world.clerk_a)
    for params in ({}, {"status": "未案内"}):
        page = client.get("/tracking/accounts/", params).content.decode()
        assert re.search(rf'<option value="{campaign.pk}" selected>', page), params


def test_bulk_form_chooses_no_status_and_refuses_none(client, world, campaign):
    login(client, world.clerk_a)
    page = client.get("/tracking/accounts/").content.decode()
    select = re.search(r'<select name="status"[^>]*id="bulk_status".*?</select>', page, re.S).group(0)
    assert '<option value="" selected>' in select and "selected" not in select.replace('<option value="" selected>', "")
    row = AccountStatus.objects.get(member=world.member_a, campaign=campaign, address=None)
    response = client.post(
        "/tracking/accounts/bulk/",
        {
            "item": f"{row.pk}:{row.version}",
            "status": "",
            "status_on": campaign.started_on.isoformat(),
            "source": "電話",
        },
        follow=True,
    )
    assert "設定する状態を選んでください。" in response.content.decode()
    row.refresh_from_db()
    assert row.status == Status.NOT_NOTIFIED
