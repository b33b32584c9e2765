"""The tracking views that read ids from the request refuse malformed ones without a server error, and
without acting on a guess."""

import pytest
from django.utils import timezone

from tests.conftest import login
from tracking.models import AccountStatus, Status

pytestmark = pytest.mark.django_db


def _primary(world, campaign):
    return AccountStatus.objects.get(campaign=campaign, member=world.member_a, address=None)


def _done(**extra):
    return {"status": "完了", "source": "電話", "status_on": timezone.localdate().isoformat(), **extra}


@pytest.mark.parametrize("value", ["²", "１２", "9" * 40])
def test_it_answers_400_to_a_malformed_member_filter(client, world, campaign, value):
    login(client, world.clerk_a)
    assert client.get("/tracking/accounts/", {"member": value}).status_code == 400
    assert client.get("/tracking/accounts/", {"member": world.member_a.pk}).status_code == 200


@pytest.mark.parametrize("item", ["²:1", "{pk}:²", "{pk}:" + "9" * 40, "{pk}:１"])
def test_it_refuses_a_bulk_update_with_a_malformed_item(client, world, campaign, item):
    primary = _primary(world, campaign)
    login(client, world.clerk_a)
    response = client.post(
        "/tracking/accounts/bulk/",
        _done(item=[f"{primary.pk}:{primary.version}", item.format(pk=primary.pk)], confirmed="1"),
        follow=True,
    )
    assert response.status_code == 200
    assert "選んだアカウントの指定が正しくありません" in response.content.decode()
    primary.refresh_from_db()
    assert primary.status == Status.NOT_NOTIFIED  # nothing recorded, the good item included


@pytest.mark.parametrize("version", ["²", "１", "-1"])
def test_it_refuses_a_malformed_version_instead_of_recording_without_the_check(client, world, campaign, version):
    primary = _primary(world, campaign)
    login(client, world.clerk_a)
    response = client.post(f"/tracking/accounts/{primary.pk}/record/", _done(version=version), follow=True)
    assert response.status_code == 200
    assert "画面の情報が正しくありません" in response.content.decode()
    primary.refresh_from_db()
    assert primary.status == Status.NOT_NOTIFIED
