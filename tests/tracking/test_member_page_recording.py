"""The member page: several accounts 完了 at once, and a refused 「ほかの記録…」 that comes back open with what
was typed."""

import pytest
from django.urls import reverse
from django.utils import timezone

from efnet.models import AuditEvent
from tests.conftest import login
from tests.factories import AddressFactory
from tracking.models import AccountStatus, Source, Status
from tracking.services import accounts_enroll

pytestmark = pytest.mark.django_db


def _row(campaign, member, address=None):
    return AccountStatus.objects.get(campaign=campaign, member=member, address=address)


def _done(client, member, *rows, versions=None):
    items = [f"{r.pk}:{(versions or {}).get(r.pk, r.version)}" for r in rows]
    return client.post(reverse("tracking:member_accounts_done", kwargs={"pk": member.pk}), {"item": items})


def test_two_ticked_accounts_become_done_today_by_phone_and_the_third_stays_pending(client, world, campaign):
    third = AddressFactory(member=world.member_a, slot=2)
    accounts_enroll(member=world.member_a)
    primary, extra, other = (
        _row(campaign, world.member_a),
        _row(campaign, world.member_a, world.address_a),
        _row(campaign, world.member_a, third),
    )
    login(client, world.clerk_a)
    page = client.get(reverse("members:detail", kwargs={"pk": world.member_a.pk})).content.decode()
    assert "選んだアカウントを完了（本日・電話）" in page and 'form="accounts-done"' in page

    response = _done(client, world.member_a, primary, extra)
    assert response.status_code == 302 and response["Location"].endswith(f"/members/{world.member_a.pk}/#tracking")
    for row in (primary, extra):
        row.refresh_from_db()
        assert (row.status, row.source, row.status_on, row.recorded_by) == (
            Status.DONE,
            Source.PHONE,
            timezone.localdate(),
            world.clerk_a,
        )
    other.refresh_from_db()
    assert other.status == Status.NOT_NOTIFIED
    page = client.get(response["Location"]).content.decode()
    assert "メインアカウント、追加メールアドレス1を「完了」にしました（電話）。" in page
    assert "未完了 1件" in page


def test_a_row_changed_meanwhile_is_not_overwritten(client, world, campaign):
    primary, extra = _row(campaign, world.member_a), _row(campaign, world.member_a, world.address_a)
    login(client, world.clerk_a)
    _done(client, world.member_a, primary, versions={})
    stale_version = primary.version  # what the page showed before the change above
    response = _done(client, world.member_a, primary, extra, versions={primary.pk: stale_version})
    page = client.get(response["Location"]).content.decode()
    assert "ほかの人が変更していたため変更していません" in page
    extra.refresh_from_db()
    assert extra.status == Status.DONE


def test_another_members_account_refuses_all(client, world, campaign):
    own, foreign = _row(campaign, world.member_a), _row(campaign, world.member_b)
    login(client, world.head)  # sees both offices: the member in the URL must own every ticked account
    response = _done(client, world.member_a, own, foreign)
    assert response.status_code == 302
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert own.status == foreign.status == Status.NOT_NOTIFIED
    assert AuditEvent.objects.filter(action="access.denied", actor=world.head).exists()


def test_nothing_ticked_says_so(client, world, campaign):
    login(client, world.clerk_a)
    response = client.post(reverse("tracking:member_accounts_done", kwargs={"pk": world.member_a.pk}))
    page = client.get(response["Location"]).content.decode()
    assert "完了にするアカウントにチェックを入れてください。" in page


def test_a_refused_other_record_comes_back_open_with_what_was_typed(client, world, campaign):
    primary = _row(campaign, world.member_a)
    login(client, world.clerk_a)
    data = {
        "status": "対象外",
        "source": "FAX",
        "status_on": "2026-06-02",
        "note": "",
        "version": primary.version,
    }
    response = client.post(reverse("tracking:account_record", kwargs={"pk": primary.pk}), data)
    page = client.get(response["Location"]).content.decode()
    assert "対象外にする理由をメモに入力してください。" in page
    form = page.split('<details class="more" open>', 1)[1].split("</details>", 1)[0]
    assert '<option value="対象外" selected>' in form
    assert '<option value="FAX" selected>' in form
    assert 'value="2026-06-02"' in form
    primary.refresh_from_db()
    assert primary.status == Status.NOT_NOTIFIED
    # Once shown, the form is back to normal on the next visit.
    page = client.get(response["Location"]).content.decode()
    assert '<details class="more" open>' not in page


def test_typed_text_comes_back_escaped(client, world, campaign):
    primary = _row(campaign, world.member_a)
    login(client, world.clerk_a)
    data = {"status": "完了", "source": "電話", "status_on": "2999-01-01", "note": '"><b id=x>', "version": 1}
    response = client.post(reverse("tracking:account_record", kwargs={"pk": primary.pk}), data)
    page = client.get(response["Location"]).content.decode()
    assert "未来の日付は指定できません。" in page
    assert "<b id=x>" not in page and 'value="&quot;&gt;&lt;b id=x&gt;"' in page


def test_the_timeline_names_the_member_and_the_system_the_same_way_everywhere(client, world, campaign):
    from tracking import selfreport
    from tracking.services import accounts_mark_notified

    primary = _row(campaign, world.member_a)
    client.post(selfreport.self_report_path(member=world.member_a, campaign=campaign), {"account": [primary.pk]})
    accounts_mark_notified(member=world.member_a, campaign=campaign, at=timezone.now())
    login(client, world.clerk_a)
    page = client.get(reverse("members:detail", kwargs={"pk": world.member_a.pk})).content.decode()
    timeline = page.split('id="timeline"', 1)[1]
    assert timeline.count("（本人）") == 2  # the report and the status change it made
    assert "（システム）" in timeline  # the notice's status change
    assert "本人・システム" not in timeline and "システム・本人" not in timeline
