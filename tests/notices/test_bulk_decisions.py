"""Failed and 不明 deliveries: a sent notice says how many, and the admin retries or decides about them in bulk
(ticked rows, all, or one reason) after a confirmation that shows the count, or one by one as before."""

import pytest
from django.core import mail
from django.urls import reverse

from efnet.models import AuditEvent
from notices.models import Delivery, Notice
from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, enroll

URL = "notices:deliveries_bulk"


@pytest.fixture
def sent_notice(world, campaign):
    """A sent notice: two failed (550, 451 after five attempts), two 不明, one sent."""
    members = [world.member_a, *(MemberFactory(office=world.office_a) for _ in range(4))]
    enroll(*members)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    rows = list(notice.deliveries.order_by("member__number"))
    states = [
        ("failed", "550 5.1.1 user unknown"),
        ("failed", "5回失敗: 451 4.3.0 try later"),
        ("unknown", "送信中に処理が中断しました。"),
        ("unknown", "送信中に処理が中断しました。"),
        ("sent", ""),
    ]
    for row, (status, error) in zip(rows, states, strict=True):
        Delivery.objects.filter(pk=row.pk).update(status=status, last_error=error, attempts=5)
    Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENT)
    notice.refresh_from_db()
    notice.rows = rows
    return notice


def test_a_sent_notice_with_failures_says_how_many(client, world, sent_notice):
    login(client, world.admin)
    detail = client.get(reverse("notices:detail", args=[sent_notice.pk])).content.decode()
    listing = client.get(reverse("notices:list")).content.decode()
    for page in (detail, listing):
        assert "送信完了（失敗 2件・不明 2件）" in page


def test_it_asks_with_the_count_before_retrying_all_failed(
    client, world, sent_notice, django_capture_on_commit_callbacks
):
    login(client, world.admin)
    url = reverse(URL, args=[sent_notice.pk])
    page = client.post(url, {"action": "retry", "scope": "all"}).content.decode()
    assert "失敗した送付 2 件を再送します。" in page
    assert sent_notice.deliveries.filter(status="failed").count() == 2  # nothing done yet

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "retry", "scope": "all", "confirmed": "1"})

    failed_members = {r.member.email for r in sent_notice.rows[:2]}
    assert {m.to[0] for m in mail.outbox} == failed_members  # sent again, these two only
    assert sent_notice.deliveries.filter(status="sent").count() == 3
    assert AuditEvent.objects.filter(action="notice.delivery.retried").count() == 2


def test_it_retries_the_deliveries_of_one_reason_only(client, world, sent_notice, django_capture_on_commit_callbacks):
    login(client, world.admin)
    url = reverse(URL, args=[sent_notice.pk])
    page = client.post(url, {"action": "retry", "scope": "reason", "reason": "失敗: SMTP 550"}).content.decode()
    assert "失敗した送付 1 件を再送します。" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "retry", "scope": "reason", "reason": "失敗: SMTP 550", "confirmed": "1"})
    first, second = (Delivery.objects.get(pk=r.pk) for r in sent_notice.rows[:2])
    assert first.status == "sent" and second.status == "failed"


def test_it_records_the_ticked_unknown_rows_as_sent_and_leaves_the_others(client, world, sent_notice):
    login(client, world.admin)
    url = reverse(URL, args=[sent_notice.pk])
    ticked = sent_notice.rows[2].pk
    page = client.post(url, {"action": "sent", "ids": [str(ticked)]}).content.decode()
    assert "不明の送付 1 件を送信済みとして記録します。" in page
    client.post(url, {"action": "sent", "ids": [str(ticked)], "confirmed": "1"})
    assert Delivery.objects.get(pk=ticked).status == "sent"
    assert Delivery.objects.get(pk=sent_notice.rows[3].pk).status == "unknown"
    assert mail.outbox == []


def test_it_ignores_rows_of_another_notice_or_of_another_status(client, world, campaign, sent_notice):
    other = approved_notice(world, campaign, audience_office=world.office_b, title="別の案内")
    foreign = other.deliveries.first()
    Delivery.objects.filter(pk=foreign.pk).update(status="unknown")
    login(client, world.admin)
    url = reverse(URL, args=[sent_notice.pk])
    sent_row = sent_notice.rows[4].pk
    response = client.post(
        url, {"action": "sent", "ids": [str(foreign.pk), str(sent_row), "x"], "confirmed": "1"}, follow=True
    )
    assert "選ばれていません" in response.content.decode()
    assert Delivery.objects.get(pk=foreign.pk).status == "unknown"
