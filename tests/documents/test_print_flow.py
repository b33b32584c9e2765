"""Printing without friction, server side: a GET on the print URLs goes back to the page it came from, the
re-entry page puts the cursor in the password field, and a printed file carries the token that lets the page
go back to the member (or the batch), where a success message waits."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from documents import services
from documents.models import BatchJob
from documents.views import DOWNLOAD_COOKIE
from mailaddresses.models import AddressListIssue
from members.models import MemberCard
from tests.conftest import login

pytestmark = pytest.mark.django_db

TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _url(name, member):
    return reverse(name, kwargs={"pk": member.pk})


@pytest.mark.parametrize("name", ["documents:card_issue", "documents:address_list_issue", "documents:password_reset"])
def test_a_get_goes_back_to_the_member_and_prints_nothing(client, world, name):
    login(client, world.clerk_a)
    response = client.get(_url(name, world.member_a))
    assert response.status_code == 302 and response["Location"] == _url("members:detail", world.member_a)
    assert not MemberCard.objects.exists() and not AddressListIssue.objects.exists()


def test_a_get_on_another_offices_member_is_still_a_404(client, world):
    login(client, world.clerk_a)
    assert client.get(_url("documents:card_issue", world.member_b)).status_code == 404


def test_a_get_on_the_batch_download_goes_back_to_the_batch_and_downloads_nothing(client, world):
    job = BatchJob.objects.create(
        requested_by=world.clerk_a, office=world.office_a, reason="紛失再発行", member_ids=[], total=0, status="done"
    )
    login(client, world.clerk_a)
    response = client.get(reverse("documents:batch_download", kwargs={"pk": job.pk}))
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:batch_detail", kwargs={"pk": job.pk})
    job.refresh_from_db()
    assert job.status == "done" and job.downloaded_at is None


def test_the_printed_card_sends_the_token_back_and_leaves_a_success_message(client, world):
    login(client, world.clerk_a)
    response = client.post(
        _url("documents:card_issue", world.member_a), {"reason": "紛失再発行", "download_token": TOKEN}
    )
    assert response["Content-Type"] == "application/pdf"
    cookie = response.cookies[DOWNLOAD_COOKIE]
    assert cookie.value == TOKEN and cookie["samesite"] == "Strict" and int(cookie["max-age"]) <= 120
    card = MemberCard.objects.get()
    page = client.get(_url("members:detail", world.member_a))
    texts = [str(m) for m in get_messages(page.wsgi_request)] or [page.content.decode()]
    assert any(f"会員証を発行しました（発行番号 {card.serial}）" in t for t in texts)


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "<b>1234567890</b>", "abc def 12345"])
def test_a_malformed_token_sets_no_cookie(client, world, token):
    login(client, world.clerk_a)
    response = client.post(
        _url("documents:card_issue", world.member_a), {"reason": "紛失再発行", "download_token": token}
    )
    assert response["Content-Type"] == "application/pdf"
    assert DOWNLOAD_COOKIE not in response.cookies


def test_the_reentry_page_focuses_the_password_and_returns_to_the_member(client, world):
    login(client, world.clerk_a, fresh_auth=False)
    response = client.post(_url("documents:card_issue", world.member_a), {"reason": "紛失再発行"})
    html = response.content.decode()
    assert response.status_code == 200 and not MemberCard.objects.exists()
    assert 'type="password"' in html and "autofocus" in html.split('type="password"', 1)[1].split(">", 1)[0]
    assert f'data-return-to="{_url("members:detail", world.member_a)}"' in html


def test_the_batch_download_sends_the_token_back(client, world, django_capture_on_commit_callbacks):
    from tests.factories import MemberFactory

    MemberFactory(office=world.office_a)
    login(client, world.clerk_a)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.batch_create(actor=world.clerk_a, office=world.office_a, reason="紛失再発行")
    job.refresh_from_db()
    assert job.status == "done"
    response = client.post(reverse("documents:batch_download", kwargs={"pk": job.pk}), {"download_token": TOKEN})
    assert response.status_code == 200 and response.cookies[DOWNLOAD_COOKIE].value == TOKEN
    b"".join(response.streaming_content)
    detail = client.get(reverse("documents:batch_detail", kwargs={"pk": job.pk}))
    assert f"{job.download_name} をダウンロードしました。" in detail.content.decode()
