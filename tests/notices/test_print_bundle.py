"""The FAX/print bundle: a real PDF read back: each member's notice, then a reply form with their accounts."""

import io

from django.urls import reverse
from pypdf import PdfReader

from efnet.models import AuditEvent
from members.models import SalesOffice
from notices import services
from notices.models import Delivery
from tests.conftest import login
from tests.factories import AddressFactory, MemberFactory
from tests.notices.conftest import approved_notice, complete, enroll, post_confirmed


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
        post_confirmed(client, "notices:send", notice)
        post_confirmed(client, "notices:mark_printed", notice)
    delivery = notice.deliveries.get()
    assert delivery.status == Delivery.Status.SENT and delivery.channel == "print"
    assert delivery.tracking_done
    notice.refresh_from_db()
    assert notice.state == "sent"
    assert services.notice_mark_printed(notice=notice, actor=world.admin) == 0  # twice records nothing more


# --- the return FAX number and completed members (the reply form must be able to come back) --------------


def _bundle(client, world, notice):
    login(client, world.admin)
    return client.get(reverse("notices:bundle", args=[notice.pk]), follow=True)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text().replace(" ", "") for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_reply_form_prints_the_offices_fax_number_to_return_it_to(client, world, campaign):
    member = MemberFactory(office=world.office_a, email="")
    enroll(member)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    response = _bundle(client, world, notice)
    reply = next(p for p in _pages(response.content) if "FAX返信用紙" in p)
    assert "返送先FAX06-0000-4029" in reply and "大阪営業所行" in reply
    assert "上記の番号（06-0000-4029）へFAXでご返送ください" in reply


def test_an_office_without_a_fax_number_sends_the_forms_to_the_secretariat(client, world, campaign):
    from members.models import Secretariat

    Secretariat.objects.filter(pk=Secretariat.get().pk).update(fax="03-0000-1000")
    SalesOffice.objects.filter(pk=world.office_a.pk).update(fax="")
    member = MemberFactory(office=world.office_a, email="")
    enroll(member)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    reply = next(p for p in _pages(_bundle(client, world, notice).content) if "FAX返信用紙" in p)
    assert "返送先FAX03-0000-1000" in reply and "EFネット事務局行" in reply


def test_no_form_is_printed_without_a_return_number(client, world, campaign):
    SalesOffice.objects.filter(pk=world.office_a.pk).update(fax="")
    member = MemberFactory(office=world.office_a, email="")
    enroll(member)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    login(client, world.admin)

    response = client.get(reverse("notices:bundle", args=[notice.pk]), follow=True)

    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "大阪営業所のFAX番号も事務局のFAX番号も登録されていない" in text
    assert not AuditEvent.objects.filter(action="notice.bundle.printed").exists()
    preview = client.get(reverse("notices:preview", args=[notice.pk]), {"number": member.number, "as": "pdf"})
    assert preview.status_code == 302


def test_a_member_who_has_completed_everything_gets_a_thank_you_and_no_form(client, world, campaign):
    # Neither the office nor the 事務局 has a FAX number: no form is printed, so nothing needs one.
    SalesOffice.objects.filter(pk=world.office_a.pk).update(fax="")
    done = MemberFactory(office=world.office_a, email="")
    enroll(done)
    complete(done, campaign)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    response = _bundle(client, world, notice)
    assert response["Content-Type"] == "application/pdf"
    pages = _pages(response.content)
    assert len(pages) == 1
    assert "FAX返信用紙" not in pages[0] and done.number in pages[0]
    assert "ご協力ありがとうございました。FAXでのご返送は不要です。" in pages[0].replace("\n", "")


def test_the_bundle_has_no_grey_and_nothing_under_nine_points_but_the_qr_caption(client, world, campaign):
    from tests.documents.test_layout import fill_colours, font_sizes

    member = MemberFactory(office=world.office_a, email="")
    enroll(member)
    notice = approved_notice(world, campaign, audience_office=world.office_a, audience_channel="fax")
    pdf = _bundle(client, world, notice).content
    small = {text.strip() for size, text in font_sizes(pdf) if size < 9}
    assert small <= {"スマートフォンからも", "ご報告いただけます"}
    assert all(size >= 8 for size, _ in font_sizes(pdf))
    assert fill_colours(pdf) <= {(0.0,), (1.0,), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)}


def test_admins_edit_the_fax_numbers_in_the_admin(client, world):
    from members.models import Secretariat

    login(client, world.admin)
    office = world.office_a
    data = {"code": office.code, "name": office.name, "kind": office.kind, "phone": office.phone}
    data.update(fax="０６－００００－４０９９", sort_order=office.sort_order)
    client.post(reverse("admin:members_salesoffice_change", args=[office.pk]), data)
    office.refresh_from_db()
    assert office.fax == "06-0000-4099"  # normalised like every phone number
    secretariat = Secretariat.get()
    response = client.post(
        reverse("admin:members_secretariat_change", args=[secretariat.pk]),
        {"name": "EF ネット事務局", "fax": "03-0000-1000"},
    )
    assert response.status_code == 302
    assert Secretariat.get().fax == "03-0000-1000"


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
