"""A call's outcome recorded from a row of the call list: on the member's timeline, audited, editors only."""

import datetime
from urllib.parse import unquote

import pytest

from efnet.models import AuditEvent
from tests.conftest import login
from tracking.timeline import member_timeline

pytestmark = pytest.mark.django_db


def _post(client, member, **data):
    payload = {"result": "折返し待ち", "called_on": datetime.date.today().isoformat(), "note": "15時以降に"}
    payload.update(data)
    return client.post(f"/tracking/members/{member.pk}/call/", payload)


def test_it_records_the_call_on_the_members_timeline(client, world, campaign):
    login(client, world.clerk_a)
    response = _post(client, world.member_a, back="status=未完了&page=1")
    assert response.status_code == 302
    assert unquote(response["Location"]).endswith(f"/tracking/members/?status=未完了&page=1#m{world.member_a.pk}")
    event = AuditEvent.objects.get(action="tracking.call.recorded")
    assert event.member_id == world.member_a.pk and event.actor == world.clerk_a
    assert event.details["result"] == "折返し待ち" and event.details["note"] == "15時以降に"
    entry = next(e for e in member_timeline(world.member_a) if e.title == "架電結果を記録")
    assert "折返し待ち" in entry.detail and "15時以降に" in entry.detail and entry.actor == "clerk_a"


def test_it_shows_the_form_to_editors_only(client, world, campaign):
    login(client, world.clerk_a)
    assert f"/tracking/members/{world.member_a.pk}/call/" in client.get("/tracking/members/").content.decode()
    login(client, world.reader_a)
    assert "/call/" not in client.get("/tracking/members/").content.decode()


def test_it_requires_editor_role(client, world, campaign):
    login(client, world.reader_a)
    assert _post(client, world.member_a).status_code == 403
    assert not AuditEvent.objects.filter(action="tracking.call.recorded").exists()


def test_it_checks_the_office(client, world, campaign):
    login(client, world.clerk_a)
    assert _post(client, world.member_b).status_code == 404
    assert not AuditEvent.objects.filter(action="tracking.call.recorded").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"result": ""},
        {"result": "完了"},
        {"called_on": (datetime.date.today() + datetime.timedelta(days=1)).isoformat()},
    ],
)
def test_it_refuses_a_missing_result_or_a_future_date(client, world, campaign, data):
    login(client, world.clerk_a)
    response = _post(client, world.member_a, **data)
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="tracking.call.recorded").exists()


def test_it_rejects_get(client, world, campaign):
    login(client, world.clerk_a)
    assert client.get(f"/tracking/members/{world.member_a.pk}/call/").status_code == 405


def test_a_note_with_markup_is_shown_as_text_on_the_member_page(client, world, campaign):
    login(client, world.clerk_a)
    _post(client, world.member_a, note='<img src=x onerror="alert(1)">')
    page = client.get(f"/members/{world.member_a.pk}/").content.decode()
    assert "&lt;img src=x" in page and '<img src=x onerror="alert(1)">' not in page
