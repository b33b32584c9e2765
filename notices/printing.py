"""The FAX/print bundle: for each member, their notice and a FAX-back reply form with a QR code of their
self-report link, as one PDF (same fonts and fetch rules as the card PDFs: efnet.pdf). A member whose accounts
are all 完了 gets no form (nothing to report; a thank-you line ends their notice instead); every other form
prints the FAX number it goes back to, and the bundle is refused while an office has none.

A member whose notice holds a character no installed font can draw is left out of the bundle rather than
stopping it: everyone else is printed, and the bundle opens with a page (for the office, not to be sent)
naming each member left out, the field and the character, as the card path words it."""

from __future__ import annotations

from dataclasses import dataclass, field

import segno
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from efnet.pdf import UnprintableCharacterError, check_printable, render_pdf
from members.models import Member
from members.selectors import return_fax_for
from notices.emails import render_for
from notices.models import Channel, Notice
from notices.selectors import MemberFacts, member_facts, office_phone_table


@dataclass(frozen=True)
class LeftOut:
    """A member the bundle could not print, and why (field label and the character)."""

    member_id: int
    number: str
    field: str
    char: str
    message: str

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.char):04X}"

    def as_dict(self) -> dict:
        # For audit details and job rows: the member number, the field and the code point, not the name.
        return {"member": self.number, "field": self.field, "char": self.codepoint}


@dataclass
class Bundle:
    pdf: bytes
    printed: int
    left_out: list[LeftOut] = field(default_factory=list)


def _qr_svg(url: str) -> str:
    # Inline SVG: part of the document, nothing to fetch.
    return segno.make(url, error="m").svg_inline(scale=3, border=2)


def member_pages(*, notice: Notice, member: Member, phone_table: str, facts: MemberFacts) -> dict:
    """What one member's pages print; raises UnprintableCharacterError naming the field and character."""
    parts = render_for(notice=notice, member=member, phone_table=phone_table, facts=facts, channel=Channel.PRINT)
    accounts = [
        {"label": row.account_label, "address": row.address.address if row.address_id else member.biglobe_user_id}
        for row in facts.pending
    ]
    check_printable(
        {
            "会員番号": member.number,
            "登録者名": member.name,
            "本文": parts["body"],
            "件名": parts["subject"],
            "アカウント": " ".join(f"{a['label']} {a['address']}" for a in accounts),
        }
    )
    return {**parts, "accounts": accounts, "qr": mark_safe(_qr_svg(parts["self_report_url"]))}  # noqa: S308


def bundle_pages(*, notice: Notice, members: list[Member]) -> tuple[list[dict], list[LeftOut]]:
    """The printable members' pages, and the members left out with the reason."""
    phone_table = office_phone_table()
    facts = member_facts(campaign=notice.campaign, members=members)
    pages: list[dict] = []
    left_out: list[LeftOut] = []
    for m in members:
        try:
            pages.append(member_pages(notice=notice, member=m, phone_table=phone_table, facts=facts[m.pk]))
        except UnprintableCharacterError as exc:
            left_out.append(LeftOut(m.pk, m.number, exc.field, exc.char, exc.messages[0]))
    # Raises ValidationError naming the offices whose forms would have no number to come back to.
    return_fax = return_fax_for(p["member"].office for p in pages if not p["complete"])
    for page in pages:
        page["return_fax"] = return_fax.get(page["member"].office_id)
    return pages, left_out


def bundle_html(*, notice: Notice, pages: list[dict], left_out: list[LeftOut]) -> str:
    return render_to_string("notices/print_bundle.html", {"notice": notice, "pages": pages, "left_out": left_out})


def bundle_pdf(*, notice: Notice, members: list[Member]) -> Bundle:
    pages, left_out = bundle_pages(notice=notice, members=members)
    pdf = render_pdf(bundle_html(notice=notice, pages=pages, left_out=left_out))
    return Bundle(pdf=pdf, printed=len(pages), left_out=left_out)
