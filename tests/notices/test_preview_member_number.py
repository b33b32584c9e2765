"""The notice preview's 会員番号 box takes a number as people type it, and says when the number is not a member
or not someone the notice goes to, instead of previewing another member under it."""

from django.urls import reverse

from tests.conftest import login
from tests.factories import MemberFactory
from tests.notices.conftest import approved_notice, enroll, make_notice

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def typed(number: str) -> str:
    """０１２－３４５ as a clerk's IME gives it: full-width digits, a full-width hyphen and a long dash."""
    wide = number.translate(FULL_WIDTH)
    return f"{wide[:2]}－{wide[2:4]}―{wide[4:]}"


def preview(client, notice, **params):
    return client.get(reverse("notices:preview", args=[notice.pk]), params)


def test_a_full_width_hyphenated_number_previews_that_member(client, world, campaign):
    first = MemberFactory(office=world.office_a, name="最初の会員")
    wanted = MemberFactory(office=world.office_a, name="指定した会員")
    enroll(first, wanted)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    response = preview(client, notice, number=typed(wanted.number))

    assert response.status_code == 200
    text = response.content.decode()
    assert "指定した会員 様" in text
    assert "最初の会員" not in text
    assert f'value="{wanted.number}"' in text


def test_an_unknown_number_is_said_and_no_other_member_is_shown(client, world, campaign):
    member = MemberFactory(office=world.office_a, name="対象の会員")
    enroll(member)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    response = preview(client, notice, number="９９９－９９９９")

    text = response.content.decode()
    assert "会員番号 9999999 の会員は見つかりません。" in text
    assert "対象の会員" not in text
    assert 'data-testid="preview-text"' not in text


def test_a_member_outside_an_approved_notices_recipients_is_said(client, world, campaign):
    inside = MemberFactory(office=world.office_a, name="対象の会員")
    outside = MemberFactory(office=world.office_b, name="<b>東京の会員</b>")
    enroll(inside, outside)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    response = preview(client, notice, number=typed(outside.number))

    text = response.content.decode()
    assert f"会員番号 {outside.number}（&lt;b&gt;東京の会員&lt;/b&gt;）はこの案内の対象ではありません。" in text
    assert "<b>東京の会員</b>" not in text
    assert "対象の会員 様" not in text


def test_a_member_outside_a_drafts_audience_is_said(client, world, campaign):
    inside = MemberFactory(office=world.office_a)
    outside = MemberFactory(office=world.office_b)
    enroll(inside, outside)
    notice = make_notice(campaign=campaign, author=world.admin, audience_office=world.office_a)
    login(client, world.admin)

    assert "この案内の対象ではありません" in preview(client, notice, number=outside.number).content.decode()
    assert "この案内の対象ではありません" not in preview(client, notice, number=inside.number).content.decode()


def test_a_stale_member_link_is_said(client, world, campaign):
    member = MemberFactory(office=world.office_a)
    enroll(member)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    text = preview(client, notice, member="99999999").content.decode()

    assert "この会員はプレビューできません" in text
    assert member.name not in text


def test_the_box_leaves_room_for_separators(client, world, campaign):
    enroll(MemberFactory(office=world.office_a))
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    text = preview(client, notice).content.decode()

    assert 'maxlength="40"' in text
