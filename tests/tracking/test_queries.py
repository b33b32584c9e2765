"""List pages and the dashboard run a fixed number of queries, however many members they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db

PAGES = ["/tracking/", "/tracking/members/?status=未完了", "/tracking/accounts/", "/tracking/members/export/csv/"]


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
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
