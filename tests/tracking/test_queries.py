"""List pages and the dashboard run a fixed number of queries, however many members they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db

PAGES = [
    "/tracking/",
    "/tracking/members/?status=未完了",
    "/tracking/members/?status=完了",
    "/tracking/members/?q=テスト",
    "/tracking/accounts/",
    "/tracking/members/export/csv/",
    "/tracking/members/export/csv-utf8/?status=未完了",
    "/tracking/members/export/xlsx/",
    "/members/",
    "/members/?q=2",
    "/members/?state=未完了&sort=-state",
    "/tracking/members/?status=未完了&sort=waiting",
    "/tracking/accounts/?sort=-status_on",
]


def _queries(client, url):
    """Queries of one request, a streamed body included (its rows are read while it is sent)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(ctx)


def _add_members(office, n):
    for _ in range(n):
        m = MemberFactory(office=office)
        AddressFactory(member=m, slot=1)
        accounts_enroll(member=m)


@pytest.mark.parametrize("url", PAGES)
def test_query_count_does_not_grow_with_members(client, world, campaign, url):
    login(client, world.clerk_a)
    _add_members(world.office_a, 3)
    few = _queries(client, url)
    _add_members(world.office_a, 30)
    many = _queries(client, url)
    assert many == few, f"{url}: {few} queries with 5 members, {many} with 35"


@pytest.mark.parametrize("path", ["/notices/", "/notices/audience/?audience_status=pending&audience_edition_rule=any"])
def test_admin_pages_query_count_does_not_grow_with_members(client, world, campaign, path):
    login(client, world.admin)
    url = path + (f"&campaign={campaign.pk}" if "?" in path else "")
    _add_members(world.office_a, 3)
    few = _queries(client, url)
    _add_members(world.office_b, 30)
    many = _queries(client, url)
    assert many == few, f"{url}: {few} queries with 5 members, {many} with 35"
