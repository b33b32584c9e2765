"""Password reset: a new BIGLOBE-valid password without ambiguous characters, stored encrypted, the account
back to "must change", and a card (パスワード再設定) that prints the new password."""

import datetime

import pytest
from django.urls import reverse

from efnet.models import AuditEvent
from efnet.passwords import AMBIGUOUS, validate_biglobe_password
from members.models import Member, MemberCard
from tests.conftest import login
from tests.documents.test_card_issue import pdf_text

pytestmark = pytest.mark.django_db


def test_reset_stores_a_new_password_and_prints_it_on_a_reset_card(client, world):
    from tracking.models import AccountStatus, Campaign, Status

    member = world.member_a
    old = member.biglobe_password
    campaign = Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))
    row = AccountStatus.objects.create(
        campaign=campaign, member=member, status=Status.DONE, status_on=datetime.date(2026, 6, 20)
    )
    login(client, world.clerk_a)
    response = client.post(reverse("documents:password_reset", kwargs={"pk": member.pk}), {"confirm": "on"})
    assert response["Content-Type"] == "application/pdf"
    fresh = Member.objects.get(pk=member.pk)
    new = fresh.biglobe_password
    assert new != old
    validate_biglobe_password(new)
    assert not set(new) & AMBIGUOUS
    raw = Member._meta.get_field("biglobe_password").raw_value(fresh)
    assert raw.startswith("v1:") and new not in raw
    assert new in pdf_text(response.content).replace(" ", "")
    card = MemberCard.objects.get(member=member)
    assert card.reason == "パスワード再設定" and card.password_printed
    row.refresh_from_db()
    assert row.status == Status.NOTIFIED and row.source == "営業所確認" and row.note
    assert AuditEvent.objects.filter(action="member.password.reset", member_id=member.pk).exists()
    assert new not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    # A later reissue prints the reset password, not the "changed by the member" box.
    response = client.post(reverse("documents:card_issue", kwargs={"pk": member.pk}), {"reason": "紛失再発行"})
    assert new in pdf_text(response.content).replace(" ", "")


def test_reset_needs_the_confirmation(client, world):
    login(client, world.clerk_a)
    old = world.member_a.biglobe_password
    response = client.post(reverse("documents:password_reset", kwargs={"pk": world.member_a.pk}), {})
    assert response.status_code == 302
    assert Member.objects.get(pk=world.member_a.pk).biglobe_password == old
