"""Recording statuses: one click on the member page, bulk with confirmation, and concurrent updates."""

import pytest
from django.utils import timezone

from efnet.models import AuditEvent
from tests.conftest import login
from tracking.models import AccountStatus, Source, Status, StatusChange
from tracking.selfreport import self_report_path

pytestmark = pytest.mark.django_db


def _rows(world, campaign):
    primary = AccountStatus.objects.get(campaign=campaign, member=world.member_a, address=None)
    extra = AccountStatus.objects.get(campaign=campaign, address=world.address_a)
    return primary, extra


def _done_data(version, **extra):
    return {
        "status": "完了",
        "source": "電話",
        "status_on": timezone.localdate().isoformat(),
        "version": version,
        **extra,
    }


def test_member_page_shows_accounts_and_one_click_done(client, world, campaign):
    login(client, world.clerk_a)
    page = client.get(f"/members/{world.member_a.pk}/").content.decode()
    assert "パスワード変更の状況" in page and "完了（本日・電話）" in page
    assert "本人報告リンクを作成" in page and "/tracking/r/" not in page  # a button, not a live link
    primary, extra = _rows(world, campaign)
    response = client.post(f"/tracking/accounts/{primary.pk}/record/", _done_data(primary.version))
    assert response.status_code == 302
    primary.refresh_from_db()
    assert (primary.status, primary.source, primary.recorded_by) == (Status.DONE, Source.PHONE, world.clerk_a)
    page = client.get(f"/members/{world.member_a.pk}/").content.decode()
    assert "メインアカウント：未案内 → 完了" in page  # timeline
    assert "未完了 1件" in page  # the other account stays pending, visibly


def test_reader_cannot_record(client, world, campaign):
    login(client, world.reader_a)
    primary, _ = _rows(world, campaign)
    assert client.post(f"/tracking/accounts/{primary.pk}/record/", _done_data(primary.version)).status_code == 403
    page = client.get(f"/members/{world.member_a.pk}/").content.decode()
    assert "完了（本日・電話）" not in page and "/tracking/r/" not in page


def test_concurrent_updates_one_wins_other_told_history_keeps_both(client, world, campaign):
    primary, _ = _rows(world, campaign)
    seen = primary.version  # both clerks loaded the page at this version
    login(client, world.head)
    client.post(f"/tracking/accounts/{primary.pk}/record/", _done_data(seen))
    login(client, world.clerk_a)
    response = client.post(
        f"/tracking/accounts/{primary.pk}/record/",
        {
            "status": "対象外",
            "source": "営業所確認",
            "status_on": timezone.localdate().isoformat(),
            "note": "解約済み",
            "version": seen,
        },
        follow=True,
    )
    text = response.content.decode()
    assert "ほかの人が変更していたため変更していません" in text and "head" in text
    primary.refresh_from_db()
    assert primary.status == Status.DONE and primary.recorded_by == world.head
    changes = list(StatusChange.objects.filter(account_status=primary).order_by("id"))
    assert [(c.to_status, c.applied) for c in changes] == [(Status.DONE, True), (Status.EXCLUDED, False)]
    assert changes[1].note == "解約済み" and changes[1].recorded_by == world.clerk_a
    assert AuditEvent.objects.filter(action="tracking.status.refused_stale").count() == 1
    page = client.get(f"/members/{world.member_a.pk}/").content.decode()
    assert "未反映" in page


def test_bulk_confirmation_shows_count_then_applies(client, world, campaign):
    primary, extra = _rows(world, campaign)
    login(client, world.clerk_a)
    listing = client.get("/tracking/accounts/", {"status": "未完了"})
    assert listing.context["page"].paginator.count == 2  # office A only
    data = {
        "item": [f"{primary.pk}:{primary.version}", f"{extra.pk}:{extra.version}"],
        "status": "完了",
        "source": "FAX",
        "status_on": timezone.localdate().isoformat(),
        "note": "FAX返信",
        "back": "status=未完了",
    }
    confirm = client.post("/tracking/accounts/bulk/", data)
    assert confirm.status_code == 200 and "2件</strong>のアカウントを「<strong>完了" in confirm.content.decode()
    assert AccountStatus.objects.filter(status=Status.DONE).count() == 0  # nothing yet
    done = client.post("/tracking/accounts/bulk/", {**data, "confirmed": "1"}, follow=True)
    assert "2件のアカウントを「完了」にしました" in done.content.decode()
    assert AccountStatus.objects.filter(status=Status.DONE, source=Source.FAX, note="FAX返信").count() == 2


def test_bulk_reports_stale_rows_and_keeps_them(client, world, campaign):
    primary, extra = _rows(world, campaign)
    login(client, world.clerk_a)
    data = {
        "item": [f"{primary.pk}:{primary.version}", f"{extra.pk}:{extra.version}"],
        "status": "完了",
        "source": "電話",
        "status_on": timezone.localdate().isoformat(),
        "confirmed": "1",
    }
    # Meanwhile the member reported the primary account through their link.
    client.post(self_report_path(member=world.member_a, campaign=campaign), {"account": [primary.pk]})
    login(client, world.clerk_a)
    text = client.post("/tracking/accounts/bulk/", data, follow=True).content.decode()
    assert "1件のアカウントを「完了」にしました" in text and "1件は、画面を開いた後に" in text
    primary.refresh_from_db()
    assert primary.source == Source.SELF_REPORT
    assert StatusChange.objects.filter(account_status=primary, applied=False, recorded_by=world.clerk_a).count() == 1


def test_bulk_refuses_other_office_rows(client, world, campaign):
    other = AccountStatus.objects.get(campaign=campaign, member=world.member_b, address=None)
    login(client, world.clerk_a)
    data = {
        "item": [f"{other.pk}:{other.version}"],
        "status": "完了",
        "source": "電話",
        "status_on": timezone.localdate().isoformat(),
        "confirmed": "1",
    }
    client.post("/tracking/accounts/bulk/", data)
    other.refresh_from_db()
    assert other.status == Status.NOT_NOTIFIED
    assert AuditEvent.objects.filter(action="access.denied").exists()


def test_timeline_merges_audit_events(client, world, campaign):
    from efnet import audit

    audit.record("notice.delivery.sent", actor=None, target=world.member_a, details={"edition": "第2報"})
    audit.record("member.card.issued", actor=world.clerk_a, target=world.member_a, details={"reason": "紛失再発行"})
    login(client, world.clerk_a)
    page = client.get(f"/members/{world.member_a.pk}/").content.decode()
    assert "案内を送付" in page and "第2報" in page and "会員証を発行" in page and "紛失再発行" in page


def test_reader_sees_the_list_without_bulk_controls(client, world, campaign):
    login(client, world.reader_a)
    page = client.get("/tracking/accounts/").content.decode()
    assert world.member_a.number in page and "確認へ進む" not in page and 'name="item"' not in page
