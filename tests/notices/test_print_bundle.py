"""The FAX/print bundle: a real PDF read back: each member's notice, then a reply form with their accounts."""

import io

from django.urls import reverse
from pypdf import PdfReader

from efnet.models import AuditEvent
from notices import services
from notices.models import Delivery
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tests.notices.conftest import approved_notice, enroll


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_fax_bundle_holds_each_fax_members_notice_and_reply_form(client, world, campaign):
    fax_only = MemberFactory(office=world.office_a, email="")
    AddressFactory(member=fax_only, slot=1, address="fax-extra@efnet-demo.example")
    enroll(world.member_a, fax_only)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    response = client.get(reverse("notices:bundle", args=[notice.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 2
    text = _text(response.content).replace(" ", "")
    assert fax_only.name in text and fax_only.number in text
    assert world.member_a.number not in text  # only the print/FAX channel
    assert "FAX返信用紙" in text
    assert "メインアカウント" in text and "fax-extra@efnet-demo.example" in text  # one line per pending account
    assert "令和8年6月吉日" in text
    # The QR code is drawn as vector paths on the reply page (inline SVG, nothing fetched).
    assert AuditEvent.objects.filter(action="notice.bundle.printed", actor=world.admin).exists()


def test_marking_the_bundle_sent_records_the_print_deliveries(
    client, world, campaign, django_capture_on_commit_callbacks
):
    fax_only = MemberFactory(office=world.office_a, email="")
    enroll(fax_only)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    login(client, world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notices:send", args=[notice.pk]))
        client.post(reverse("notices:mark_printed", args=[notice.pk]))
    delivery = notice.deliveries.get()
    assert delivery.status == Delivery.Status.SENT and delivery.channel == "print"
    assert delivery.tracking_done
    notice.refresh_from_db()
    assert notice.state == "sent"
    assert services.notice_mark_printed(notice=notice, actor=world.admin) == 0  # twice records nothing more


UNPRINTABLE = "\U0001fae8"  # a recent emoji: no installed PDF font draws it


def test_one_unprintable_member_is_left_out_and_everyone_else_is_printed(client, world, campaign):
    good = [MemberFactory(office=world.office_a, email="") for _ in range(2)]
    bad = MemberFactory(office=world.office_a, email="", name=f"テスト{UNPRINTABLE}商店")
    enroll(*good, bad)
    notice = approved_notice(world, campaign, audience_office=world.office_a)
    login(client, world.admin)

    response = client.get(reverse("notices:bundle", args=[notice.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = [p.extract_text().replace(" ", "") for p in PdfReader(io.BytesIO(response.content)).pages]
    # The first page is the office's list of who was left out: the member, the field and the code point.
    assert "印刷できなかった会員1名" in pages[0] and "送信しないでください" in pages[0]
    assert bad.number in pages[0] and "登録者名" in pages[0] and "U+1FAE8" in pages[0]
    rest = "\n".join(pages[1:])
    for member in good:
        assert member.number in rest and member.name.replace(" ", "") in rest
    assert bad.number not in rest
    assert len(pages) == 1 + 2 * len(good)  # notice + reply form each
    event = AuditEvent.objects.get(action="notice.bundle.printed")
    assert event.details["members"] == 2
    assert event.details["left_out"] == [{"member": bad.number, "field": "登録者名", "char": "U+1FAE8"}]
    # The admin is told on the next page too.
    page = client.get(reverse("notices:detail", args=[notice.pk]))
    assert bad.number in page.content.decode() and "U+1FAE8" in page.content.decode()


def test_a_bundle_where_no_member_is_printable_says_so_instead_of_an_empty_pdf(client, world, campaign):
    bad = MemberFactory(office=world.office_a, email="", name=f"テスト{UNPRINTABLE}")
    enroll(bad)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    login(client, world.admin)

    response = client.get(reverse("notices:bundle", args=[notice.pk]), follow=True)

    assert response.status_code == 200
    body = response.content.decode()
    assert "どの会員も印刷できませんでした" in body and bad.number in body and "U+1FAE8" in body
    assert not AuditEvent.objects.filter(action="notice.bundle.printed").exists()


def test_the_fax_preview_of_an_unprintable_member_names_the_character_instead_of_failing(client, world, campaign):
    bad = MemberFactory(office=world.office_a, email="", name=f"テスト{UNPRINTABLE}商店")
    enroll(bad)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    login(client, world.admin)

    response = client.get(reverse("notices:preview", args=[notice.pk]), {"member": bad.pk, "as": "pdf"}, follow=True)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "登録者名" in body and "U+1FAE8" in body
