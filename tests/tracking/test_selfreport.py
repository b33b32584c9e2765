import datetime

import pytest
from django.core import signing
from django.test import override_settings
from django.utils import timezone

from efnet.models import AuditEvent
from tests.factories import AddressFactory
from tracking import selfreport
from tracking.models import AccountStatus, SelfReportHit, Source, Status, StatusChange
from tracking.selectors import pending_accounts
from tracking.services import accounts_mark_notified

pytestmark = pytest.mark.django_db


def _statuses(member, campaign):
    return {(a.address_id or 0): a.status for a in AccountStatus.objects.filter(member=member, campaign=campaign)}


def test_link_opens_lists_accounts_without_passwords_and_records_done(client, world, campaign):
    path = selfreport.self_report_path(member=world.member_a, campaign=campaign)
    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert world.member_a.biglobe_user_id in text and world.address_a.address in text
    assert world.member_a.biglobe_password not in text and world.address_a.password not in text
    primary = AccountStatus.objects.get(member=world.member_a, campaign=campaign, address=None)
    done = client.post(path, {"account": [primary.pk]})
    assert done.status_code == 200 and "受け付けました" in done.content.decode()
    primary.refresh_from_db()
    assert primary.status == Status.DONE and primary.source == Source.SELF_REPORT
    assert primary.status_on == timezone.localdate()
    # The additional address stays pending, visibly.
    assert AccountStatus.objects.get(address=world.address_a, campaign=campaign).status == Status.NOT_NOTIFIED
    assert AuditEvent.objects.filter(action="tracking.selfreport.submitted", member_id=world.member_a.pk).exists()


def test_reused_link_changes_nothing(client, world, campaign):
    path = selfreport.self_report_path(member=world.member_a, campaign=campaign)
    primary = AccountStatus.objects.get(member=world.member_a, campaign=campaign, address=None)
    extra = AccountStatus.objects.get(address=world.address_a, campaign=campaign)
    client.post(path, {"account": [primary.pk]})
    again = client.post(path, {"account": [extra.pk]})
    assert again.status_code == 410 and "すでに使用されています" in again.content.decode()
    assert client.get(path).status_code == 410
    extra.refresh_from_db()
    assert extra.status == Status.NOT_NOTIFIED


def test_tampered_link_changes_nothing(client, world, campaign):
    path = selfreport.self_report_path(member=world.member_a, campaign=campaign)
    token = path.rstrip("/").split("/")[-1]
    value, ts, sig = token.rsplit(":", 2)
    # Point the link at another member without re-signing.
    forged_value = f"{world.member_b.pk}." + value.split(".", 1)[1]
    forged = path.replace(token, f"{forged_value}:{ts}:{sig}")
    before = _statuses(world.member_b, campaign)
    other = AccountStatus.objects.get(member=world.member_b, campaign=campaign, address=None)
    response = client.post(forged, {"account": [other.pk]})
    assert response.status_code == 400 and "正しくありません" in response.content.decode()
    assert _statuses(world.member_b, campaign) == before
    assert not StatusChange.objects.exists()


def test_expired_link_changes_nothing(client, world, campaign):
    old = selfreport.make_token(member=world.member_a, campaign=campaign)
    # A negative allowance makes a link signed just now already too old, without waiting.
    with override_settings(TRACKING_SELF_REPORT_MAX_AGE_DAYS=-1):
        primary = AccountStatus.objects.get(member=world.member_a, campaign=campaign, address=None)
        response = client.post(f"/tracking/r/{old}/", {"account": [primary.pk]})
    assert response.status_code == 410 and "有効期限が切れています" in response.content.decode()
    primary.refresh_from_db()
    assert primary.status == Status.NOT_NOTIFIED


def test_link_cannot_touch_another_members_account(client, world, campaign):
    path = selfreport.self_report_path(member=world.member_a, campaign=campaign)
    other = AccountStatus.objects.get(member=world.member_b, campaign=campaign, address=None)
    response = client.post(path, {"account": [other.pk]})
    assert response.status_code == 200 and "チェックを入れて" in response.content.decode()
    other.refresh_from_db()
    assert other.status == Status.NOT_NOTIFIED


@override_settings(TRACKING_SELF_REPORT_LINK_LIMIT=3, TRACKING_SELF_REPORT_IP_LIMIT=5)
def test_rate_limited_per_link_and_per_ip(client, world, campaign):
    path = selfreport.self_report_path(member=world.member_a, campaign=campaign)
    codes = [client.get(path).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another link from the same address: the IP budget (5) runs out after two more.
    other = selfreport.self_report_path(member=world.member_b, campaign=campaign)
    codes = [client.get(other).status_code for _ in range(2)]
    assert codes == [200, 429]
    # The counts live in the database, shared by every process.
    assert SelfReportHit.objects.filter(bucket__startswith="link:").count() == 6


def test_bad_signature_garbage(client, db):
    assert client.get("/tracking/r/abc/").status_code == 400
    assert client.get("/tracking/r/" + signing.TimestampSigner(salt="other").sign("1.1.x") + "/").status_code == 400


def test_mark_notified_and_pending_accounts(world, campaign):
    primary = AccountStatus.objects.get(member=world.member_a, campaign=campaign, address=None)
    primary.status = Status.DONE
    primary.save()
    assert [a.address_id for a in pending_accounts(member=world.member_a, campaign=campaign)] == [world.address_a.pk]
    at = timezone.make_aware(datetime.datetime(2026, 6, 10, 9, 0))
    assert accounts_mark_notified(member=world.member_a, campaign=campaign, actor=world.admin, at=at) == 1
    extra = AccountStatus.objects.get(address=world.address_a, campaign=campaign)
    assert extra.status == Status.NOTIFIED and extra.source == Source.NOTICE and extra.last_notified_at == at
    primary.refresh_from_db()
    assert primary.status == Status.DONE and primary.last_notified_at is None
    # Second notice: nothing moves, but the date of the last notice does.
    later = at + datetime.timedelta(days=14)
    assert accounts_mark_notified(member=world.member_a, campaign=campaign, at=later) == 0
    extra.refresh_from_db()
    assert extra.last_notified_at == later and extra.status == Status.NOTIFIED
    assert AuditEvent.objects.filter(action="tracking.accounts.notified", member_id=world.member_a.pk).count() == 2


def test_new_campaign_enrols_every_active_account_once(world, campaign):
    from tracking.models import Campaign
    from tracking.services import campaign_enroll_all

    gone = AddressFactory(member=world.member_b, slot=2, is_active=False)
    second = Campaign.objects.create(name="第2期", started_on=datetime.date(2026, 9, 1))
    created = campaign_enroll_all(campaign=second, actor=world.admin)
    # member_a, member_b (primary) + address_a, address_b; not the inactive address.
    assert created == 4
    assert not AccountStatus.objects.filter(campaign=second, address=gone).exists()
    assert campaign_enroll_all(campaign=second, actor=world.admin) == 0
    assert AccountStatus.objects.filter(campaign=second, status=Status.NOT_NOTIFIED).count() == 4
