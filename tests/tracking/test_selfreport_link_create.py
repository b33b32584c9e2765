"""The member page carries no live self-report link: a clerk creates one on request (POST, editor role), sees it
once, and the creation is audited without the link."""

import json
import re

import pytest
from django.urls import reverse

from efnet.models import AuditEvent
from tests.conftest import login
from tracking import selfreport
from tracking.models import AccountStatus, Status

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/tracking/r/([^/\"'<>\s]+)/")


def _create(client, member):
    return client.post(reverse("tracking:self_report_link_create", kwargs={"pk": member.pk}))


def test_the_member_page_carries_no_signed_link_only_the_button(client, world, campaign):
    login(client, world.clerk_a)
    page = client.get(reverse("members:detail", kwargs={"pk": world.member_a.pk}))
    text = page.content.decode()
    assert page.status_code == 200 and "本人報告リンクを作成" in text
    assert not LINK.search(text)
    assert f"{world.member_a.pk}.{campaign.pk}." not in text  # the signed value, in any encoding of the path
    assert not AuditEvent.objects.filter(action="tracking.selfreport.link_created").exists()


def test_post_creates_a_working_link_shows_it_once_and_audits_without_it(client, world, campaign):
    login(client, world.clerk_a)
    response = _create(client, world.member_a)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    text = response.content.decode()
    token = LINK.search(text).group(1)
    link = selfreport.load_token(token)
    assert (link.member_id, link.campaign_id) == (world.member_a.pk, campaign.pk)
    assert "コピー" in text and world.member_a.number in text

    event = AuditEvent.objects.get(action="tracking.selfreport.link_created")
    assert event.actor == world.clerk_a and event.member_id == world.member_a.pk
    assert token not in json.dumps(event.details, ensure_ascii=False)
    assert token.split(":")[-1] not in json.dumps(event.details, ensure_ascii=False)

    client.logout()
    assert client.get(f"/tracking/r/{token}/").status_code == 200  # the member can use it

    login(client, world.clerk_a)
    again = client.get(reverse("members:detail", kwargs={"pk": world.member_a.pk})).content.decode()
    assert token not in again and not LINK.search(again)


def test_each_request_signs_a_new_link(client, world, campaign):
    login(client, world.clerk_a)
    first = LINK.search(_create(client, world.member_a).content.decode()).group(1)
    second = LINK.search(_create(client, world.member_a).content.decode()).group(1)
    assert first != second
    assert AuditEvent.objects.filter(action="tracking.selfreport.link_created").count() == 2


def test_it_rejects_get(client, world, campaign):
    login(client, world.clerk_a)
    response = client.get(reverse("tracking:self_report_link_create", kwargs={"pk": world.member_a.pk}))
    assert response.status_code == 405


def test_it_requires_the_editor_role(client, world, campaign):
    login(client, world.reader_a)
    assert _create(client, world.member_a).status_code == 403
    page = client.get(reverse("members:detail", kwargs={"pk": world.member_a.pk})).content.decode()
    assert "本人報告リンクを作成" not in page
    assert not AuditEvent.objects.filter(action="tracking.selfreport.link_created").exists()


def test_another_offices_member_is_a_404_and_audited(client, world, campaign):
    login(client, world.clerk_a)
    assert _create(client, world.member_b).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=world.clerk_a).exists()
    assert not AuditEvent.objects.filter(action="tracking.selfreport.link_created").exists()


def test_no_link_for_a_member_with_nothing_left_to_report(client, world, campaign):
    AccountStatus.objects.filter(member=world.member_a, campaign=campaign).update(status=Status.DONE)
    login(client, world.clerk_a)
    response = _create(client, world.member_a)
    assert response.status_code == 302
    followed = client.get(response["Location"]).content.decode()
    assert "未完了のアカウントはありません" in followed and not LINK.search(followed)
    assert not AuditEvent.objects.filter(action="tracking.selfreport.link_created").exists()
