"""自分にテスト送信: the admin gets the previewed member's email at their own address."""

from django.core import mail
from django.urls import reverse

from tests.conftest import login
from tests.notices.conftest import enroll, make_notice


def test_a_test_send_mails_the_admin_the_sample_members_notice(client, world, campaign):
    enroll(world.member_a)
    world.admin.email = "admin@example.jp"
    world.admin.save(update_fields=["email"])
    notice = make_notice(campaign=campaign, author=world.admin)
    login(client, world.admin)
    url = reverse("notices:test_send", args=[notice.pk]) + f"?member={world.member_a.pk}"
    response = client.post(url)
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["admin@example.jp"]]
    assert mail.outbox[0].subject.startswith("[テスト] ")
    assert world.member_a.name in mail.outbox[0].body
