"""Every refusal is audited as access.denied with who, what and why: 403s from the role checks wherever
they are raised, and addresses reached through a member they do not belong to."""

import datetime

import pytest
from django.urls import reverse

from efnet.models import AuditEvent
from mailaddresses.models import AdditionalMailAddress
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory

pytestmark = pytest.mark.django_db


def _denied(user):
    return AuditEvent.objects.filter(action="access.denied", actor=user)


def test_a_reveal_without_the_permission_is_a_403_and_audited(client, world):
    login(client, world.reader_a)
    url = reverse("members:reveal", args=[world.member_a.pk])
    assert client.post(url).status_code == 403
    event = _denied(world.reader_a).get()
    assert event.details == {"path": url, "method": "POST", "status": 403, "why": "reveal_permission_required"}
    assert event.actor_office == world.office_a


@pytest.mark.parametrize("url", ["/notices/", "/audit/"])
def test_a_clerk_on_admin_or_head_office_pages_is_a_403_and_audited(client, world, url):
    login(client, world.clerk_a)
    assert client.get(url).status_code == 403
    event = _denied(world.clerk_a).get()
    assert event.details["path"] == url and event.details["why"] in ("admin_required", "head_office_required")


def test_the_django_admin_refusal_is_audited_too(client, world):
    login(client, world.clerk_a)
    assert client.get("/admin/").status_code == 403
    assert _denied(world.clerk_a).get().details["path"] == "/admin/"


def test_an_author_approving_their_own_notice_is_audited(client, world):
    from notices.models import Notice
    from tracking.models import Campaign

    campaign = Campaign.objects.create(name="承認テスト", started_on=datetime.date(2026, 6, 1))
    notice = Notice.objects.create(
        campaign=campaign, edition=2, title="t", date=datetime.date(2026, 6, 25), body="b", author=world.admin
    )
    login(client, world.admin)
    client.post(reverse("notices:approve", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT
    event = _denied(world.admin).get()
    assert event.target_id == str(notice.pk) and "作成者本人は承認できません" in event.details["why"]


@pytest.mark.parametrize("name", ["edit", "reveal"])
@pytest.mark.parametrize("whose", ["same_office", "other_office"])
def test_an_address_of_another_member_is_a_404_and_audited(client, world, name, whose):
    other = MemberFactory(office=world.office_a) if whose == "same_office" else world.member_b
    foreign = AddressFactory(member=other, slot=2) if whose == "same_office" else world.address_b
    login(client, world.clerk_a)
    url = reverse(f"members:mailaddresses:{name}", kwargs={"member_pk": world.member_a.pk, "pk": foreign.pk})
    response = client.post(url) if name == "reveal" else client.get(url)
    assert response.status_code == 404
    assert foreign.address not in response.content.decode()
    event = _denied(world.clerk_a).get()
    assert event.target_type == "mailaddresses.additionalmailaddress" and event.target_id == str(foreign.pk)
    assert event.office == other.office
    assert event.details["why"] == ("other_parent" if whose == "same_office" else "other_office")
    assert event.details["lookup"] == {"pk": str(foreign.pk), "member_id": str(world.member_a.pk)}
    assert not AuditEvent.objects.filter(action="member.password.revealed").exists()


def test_an_address_that_does_not_exist_is_a_plain_404(client, world):
    login(client, world.clerk_a)
    missing = (AdditionalMailAddress.objects.order_by("-pk").first().pk or 0) + 100
    url = reverse("members:mailaddresses:edit", kwargs={"member_pk": world.member_a.pk, "pk": missing})
    assert client.get(url).status_code == 404
    assert not _denied(world.clerk_a).exists()
