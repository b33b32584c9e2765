"""Approval by a second admin freezes the audience; editing afterwards withdraws the approval."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from efnet.models import AuditEvent
from notices import selectors, services
from notices.models import Delivery, Notice
from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, complete, enroll, make_notice, post_confirmed


def test_the_author_cannot_approve_their_own_notice(world, campaign):
    enroll(world.member_a)
    notice = make_notice(campaign=campaign, author=world.admin)
    with pytest.raises(PermissionDenied):
        services.notice_approve(notice=notice, actor=world.admin)
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT
    assert not notice.deliveries.exists()


def test_approval_freezes_one_delivery_per_member_and_channel(world, campaign):
    fax_only = MemberFactory(office=world.office_a, email="")
    enroll(world.member_a, world.member_b, fax_only)
    notice = approved_notice(world, campaign)

    assert notice.state == Notice.State.APPROVED and notice.approved_by == world.admin2
    rows = {(d.member_id, d.channel) for d in notice.deliveries.all()}
    assert rows == {(world.member_a.pk, "email"), (world.member_b.pk, "email"), (fax_only.pk, "print")}
    # A member joining after approval is not added: the audience is frozen.
    late = MemberFactory(office=world.office_a)
    enroll(late)
    assert not notice.deliveries.filter(member=late).exists()
    assert AuditEvent.objects.filter(action="notice.approved", actor=world.admin2).exists()


def test_editing_an_approved_notice_returns_it_to_draft(world, campaign):
    enroll(world.member_a)
    notice = approved_notice(world, campaign)
    services.notice_update(notice=notice, actor=world.admin, title="訂正版")
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT
    assert notice.approved_by is None
    assert not notice.deliveries.exists()
    assert services.notice_send(notice=notice, actor=world.admin) is False  # a draft cannot be sent


def test_a_sending_notice_cannot_be_edited(world, campaign, django_capture_on_commit_callbacks):
    enroll(world.member_a)
    notice = approved_notice(world, campaign)
    services.notice_send(notice=notice, actor=world.admin)
    with pytest.raises(ValidationError):
        services.notice_update(notice=notice, actor=world.admin, title="x")


def test_audience_filters(world, campaign):
    fax_only = MemberFactory(office=world.office_b, email="")
    no_addresses = MemberFactory(office=world.office_a)
    enroll(world.member_a, world.member_b, fax_only, no_addresses)
    complete(world.member_a, campaign)
    probe = Notice(campaign=campaign)

    def members(**filters):
        for k, v in filters.items():
            setattr(probe, k, v)
        result = set(selectors.audience(probe).values_list("pk", flat=True))
        for k in filters:
            setattr(probe, k, Notice._meta.get_field(k).get_default())
        return result

    assert members(audience_status="pending") == {world.member_b.pk, fax_only.pk, no_addresses.pk}
    assert members(audience_status="complete") == {world.member_a.pk}
    assert members(audience_status="any", audience_office=world.office_b) == {world.member_b.pk, fax_only.pk}
    assert members(audience_status="any", audience_addresses="yes") == {world.member_a.pk, world.member_b.pk}
    assert members(audience_status="any", audience_channel="fax") == {fax_only.pk}
    assert fax_only.pk not in members(audience_status="any", audience_channel="email")

    first = make_notice(campaign=campaign, author=world.admin, edition=1, audience_office=world.office_a)
    services.notice_approve(notice=first, actor=world.admin2)
    Delivery.objects.filter(notice=first, member=world.member_a).update(status="sent")
    assert members(audience_status="any", audience_edition=1, audience_edition_rule="received") == {world.member_a.pk}
    assert world.member_a.pk not in members(
        audience_status="any", audience_edition=1, audience_edition_rule="not_received"
    )


def test_the_edit_page_counts_the_audience_live(client, world, campaign):
    enroll(world.member_a, world.member_b)
    login(client, world.admin)
    response = client.get(
        reverse("notices:audience"),
        {"campaign": campaign.pk, "audience_status": "pending", "audience_office": world.office_a.pk},
    )
    assert response.status_code == 200
    assert b'data-testid="audience-total">1<' in response.content
    assert world.member_a.number in response.content.decode()


def test_approve_by_second_admin_through_the_page(client, world, campaign):
    enroll(world.member_a)
    notice = make_notice(campaign=campaign, author=world.admin)
    login(client, world.admin)
    post_confirmed(client, "notices:approve", notice)
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT  # the author's click is refused
    login(client, world.admin2)
    post_confirmed(client, "notices:approve", notice)
    notice.refresh_from_db()
    assert notice.state == Notice.State.APPROVED


@pytest.mark.parametrize("persona", ["clerk_a", "head"])
def test_office_clerks_and_head_office_cannot_see_or_send_notices(client, world, campaign, persona):
    enroll(world.member_a)
    notice = approved_notice(world, campaign)
    login(client, world.persona(persona))
    assert client.get(reverse("notices:list")).status_code == 403
    assert client.get(reverse("notices:detail", args=[notice.pk])).status_code == 403
    assert post_confirmed(client, "notices:send", notice).status_code == 403
    notice.refresh_from_db()
    assert notice.state == Notice.State.APPROVED
