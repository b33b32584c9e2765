"""Approval copies the audience in the database (INSERT … SELECT): a fixed number of queries whatever the
audience, and the notice is checked again, under a short lock, after the copy."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notices import services
from notices.models import Delivery, Notice
from tests.factories import MemberFactory
from tests.notices.conftest import enroll, make_notice

pytestmark = pytest.mark.django_db


def _approve_counting(world, campaign):
    notice = make_notice(campaign=campaign, author=world.admin)
    with CaptureQueriesContext(connection) as ctx:
        count = services.notice_approve(notice=notice, actor=world.admin2)
    return count, len(ctx)


def test_approval_runs_the_same_queries_for_any_audience(world, campaign):
    enroll(world.member_a, world.member_b)
    few, few_queries = _approve_counting(world, campaign)
    Notice.objects.all().delete()
    for i in range(25):
        enroll(MemberFactory(office=world.office_a, email="" if i % 3 == 0 else f"m{i}@example.jp"))
    many, many_queries = _approve_counting(world, campaign)
    assert (few, many) == (2, 27)
    assert many_queries == few_queries
    channels = dict(Delivery.objects.filter(member__email="").values_list("channel", "status").distinct())
    assert channels == {"print": "queued"}


def test_a_notice_edited_while_its_audience_was_copied_is_not_approved(world, campaign, monkeypatch):
    enroll(world.member_a, world.member_b)
    notice = make_notice(campaign=campaign, author=world.admin)
    original = services._freeze_audience

    def edited_meanwhile(seen):
        inserted = original(seen)
        # Another admin's edit, committed while the rows were being copied.
        Notice.objects.filter(pk=seen.pk).update(
            title="変更後", updated_at=seen.updated_at + datetime.timedelta(seconds=1)
        )
        return inserted

    monkeypatch.setattr(services, "_freeze_audience", edited_meanwhile)
    with pytest.raises(ValidationError):
        services.notice_approve(notice=notice, actor=world.admin2)
    notice.refresh_from_db()
    assert notice.state == Notice.State.DRAFT
    assert not Delivery.objects.filter(notice=notice).exists()
