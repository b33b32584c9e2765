"""The dashboard's numbers against counts computed here from the raw rows, and office scoping."""

import datetime
import random

import pytest

from members.models import SalesOffice
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tracking.models import AccountStatus, Status
from tracking.selectors import dashboard_rows
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed(world, campaign):
    """A spread of members in two offices with one to three accounts each, statuses at random."""
    rng = random.Random(7)
    for office in (world.office_a, world.office_b):
        for _ in range(12):
            m = MemberFactory(office=office)
            for slot in range(1, rng.randint(1, 3)):
                AddressFactory(member=m, slot=slot)
            accounts_enroll(member=m)
    # An inactive address and an inactive member must not count.
    gone = AddressFactory(member=world.member_a, slot=2)
    accounts_enroll(member=world.member_a)
    gone.is_active = False
    gone.save()
    quitter = MemberFactory(office=world.office_a)
    accounts_enroll(member=quitter)
    quitter.is_active = False
    quitter.save()
    for row in AccountStatus.objects.all():
        row.status = rng.choice(list(Status))
        row.status_on = datetime.date(2026, 6, rng.randint(1, 20)) if row.status == Status.DONE else None
        row.save()
    return campaign


def independent_counts(campaign, office=None):
    """Straight from the rows, in Python: accounts and members by status."""
    rows = [
        r
        for r in AccountStatus.objects.select_related("member", "address").filter(campaign=campaign)
        if r.member.is_active
        and (r.address is None or r.address.is_active)
        and (office is None or r.member.office_id == office.pk)
    ]
    accounts = {s: sum(1 for r in rows if r.status == s) for s in Status}
    accounts["total"] = len(rows)
    by_member = {}
    for r in rows:
        by_member.setdefault(r.member_id, []).append(r.status)
    members = dict.fromkeys(Status, 0)
    for statuses in by_member.values():
        if Status.NOT_NOTIFIED in statuses:
            members[Status.NOT_NOTIFIED] += 1
        elif Status.NOTIFIED in statuses:
            members[Status.NOTIFIED] += 1
        elif Status.DONE in statuses:
            members[Status.DONE] += 1
        else:
            members[Status.EXCLUDED] += 1
    members["total"] = len(by_member)
    return accounts, members


def test_head_office_numbers_equal_raw_counts(world, mixed):
    rows, total = dashboard_rows(user=world.head, campaign=mixed)
    assert {r.office.pk for r in rows} == set(SalesOffice.objects.values_list("pk", flat=True))
    for row in rows:
        accounts, members = independent_counts(mixed, row.office)
        assert row.accounts == accounts, row.office
        assert row.members == members, row.office
    accounts, members = independent_counts(mixed)
    assert total.accounts == accounts and total.members == members
    assert total.accounts["total"] > 30  # the fixture really made a spread


def test_office_user_sees_only_their_office(client, world, mixed):
    rows, total = dashboard_rows(user=world.clerk_a, campaign=mixed)
    assert [r.office for r in rows] == [world.office_a]
    accounts, members = independent_counts(mixed, world.office_a)
    assert total.accounts == accounts and total.members == members
    login(client, world.clerk_a)
    page = client.get("/tracking/").content.decode()
    assert world.office_a.name in page and world.office_b.name not in page


def test_dashboard_page_numbers_link_to_lists_with_same_counts(client, world, mixed):
    login(client, world.head)
    page = client.get("/tracking/")
    assert page.status_code == 200
    rows, total = dashboard_rows(user=world.head, campaign=mixed)
    # Follow the links for office A: each list shows the number the dashboard showed.
    html = page.content.decode()
    for status in Status:
        n = dict(rows and {r.office.pk: r for r in rows})[world.office_a.pk].members[status]
        url = f"/tracking/members/?campaign={mixed.pk}&office={world.office_a.pk}&status={status}"
        listed = client.get(url)
        assert listed.context["page"].paginator.count == n, status
        n_acc = {r.office.pk: r for r in rows}[world.office_a.pk].accounts[status]
        url = f"/tracking/accounts/?campaign={mixed.pk}&office={world.office_a.pk}&status={status}"
        assert client.get(url).context["page"].paginator.count == n_acc, status
    assert "<svg" in html and "polyline" in html and "style=" not in html


def test_office_name_opens_its_pending_members_longest_waiting_first(client, world, campaign):
    import re
    from html import unescape

    from django.utils import timezone

    from tracking.services import accounts_mark_notified

    older, newer = MemberFactory(office=world.office_a), MemberFactory(office=world.office_a)
    for m in (older, newer):
        accounts_enroll(member=m)
    now = timezone.now()
    accounts_mark_notified(member=newer, campaign=campaign, at=now - datetime.timedelta(days=2))
    accounts_mark_notified(member=older, campaign=campaign, at=now - datetime.timedelta(days=20))
    login(client, world.head)
    page = client.get("/tracking/").content.decode()
    href = unescape(re.search(rf'data-pending="{world.office_a.code}"[^>]*href="([^"]+)"', page).group(1))
    listing = client.get(href).content.decode()
    assert world.member_b.number not in listing  # office B's member is not in office A's list
    numbers = re.findall(r'members/(\d+)/">([^<]+)</a>', listing)
    order = [n for _, n in numbers]
    # 20 days, then 2 days; never notified last (as the dashboard's waiting list orders them).
    assert order.index(older.number) < order.index(newer.number) < order.index(world.member_a.number)
