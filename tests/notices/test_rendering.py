"""The body language: merge fields and simple conditions, nothing that reaches objects or settings."""

import pytest

from notices import rendering
from notices.emails import render_for
from tests.notices.conftest import complete, enroll, make_notice


def test_it_fills_merge_fields_and_picks_the_branch():
    source = "{{ 会社名 }} 様 {% if 完了 %}お詫び{% else %}お願い{% endif %}{% if not 完了 %}!{% endif %}"
    assert rendering.render(source, {"会社名": "株式会社テスト", "完了": True}) == "株式会社テスト 様 お詫び\n"
    assert rendering.render(source, {"会社名": "株式会社テスト", "完了": False}) == "株式会社テスト 様 お願い!\n"


@pytest.mark.parametrize(
    "source",
    [
        "{{ settings.SECRET_KEY }}",
        "{{ settings }}",
        "{{ 会社名.__class__.__mro__ }}",
        "{{ member.biglobe_password }}",
        "{{ 会社名|safe }}",
        "{% load static %}",
        "{% include 'base.html' %}",
        "{% debug %}",
        "{% if 会社名.__class__ %}x{% endif %}",
        "{% if 完了 %}unclosed",
        "{{ 会社名 ",
    ],
)
def test_it_refuses_anything_outside_the_language(source):
    with pytest.raises(rendering.NoticeTemplateError):
        rendering.render(source, {"会社名": "x", "完了": True})


def test_it_refuses_objects_in_the_context():
    with pytest.raises(TypeError):
        rendering.render("{{ 会社名 }}", {"会社名": object()})


def test_a_complete_member_gets_the_apology_and_a_pending_one_the_request(world, campaign):
    enroll(world.member_a, world.member_b)
    complete(world.member_a, campaign)
    notice = make_notice(campaign=campaign, author=world.admin)

    done = render_for(notice=notice, member=world.member_a)["body"]
    pending = render_for(notice=notice, member=world.member_b)["body"]

    assert "お詫び:" in done and "お願い:" not in done
    assert "お願い:" in pending and "お詫び:" not in pending
    assert world.member_b.name in pending and world.member_b.number in pending
    assert world.member_b.biglobe_user_id in pending  # the pending primary account is listed
    assert world.address_b.address in pending
    assert world.member_b.office.phone in pending


def test_the_second_notice_template_renders_with_the_office_table(world, campaign):
    from notices.models import NoticeTemplate
    from notices.services import notice_copy_template

    enroll(world.member_a)
    template = NoticeTemplate.objects.get(name__startswith="第2報")
    notice = notice_copy_template(template=template, campaign=campaign, actor=world.admin)
    body = render_for(notice=notice, member=world.member_a)["body"]
    assert "【2：BIGLOBE パスワード変更】" in body
    assert "熊本　営業所 ■TEL:096-373-0166" in body and "札幌　営業所 ■TEL:011-222-4321" in body
    assert "https://efnet.example.jp/" in body  # the self-report link, on the configured origin
    assert "{{" not in body and "{%" not in body
