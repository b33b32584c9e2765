"""The FAX/print bundle: for each member, their notice and a FAX-back reply form with a QR code of their
self-report link, as one PDF (same fonts and fetch rules as the card PDFs: efnet.pdf). A member whose accounts
are all 完了 gets no form (nothing to report; a thank-you line ends their notice instead); every other form
prints the FAX number it goes back to, and the bundle is refused while an office has none."""

from __future__ import annotations

import segno
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from efnet.pdf import check_printable, render_pdf
from members.models import Member
from members.selectors import return_fax_for
from notices.emails import render_for
from notices.models import Channel, Notice
from notices.selectors import MemberFacts, member_facts, office_phone_table


def _qr_svg(url: str) -> str:
    # Inline SVG: part of the document, nothing to fetch.
    return segno.make(url, error="m").svg_inline(scale=3, border=2)


def member_pages(*, notice: Notice, member: Member, phone_table: str, facts: MemberFacts) -> dict:
    parts = render_for(notice=notice, member=member, phone_table=phone_table, facts=facts, channel=Channel.PRINT)
    accounts = [
        {"label": row.account_label, "address": row.address.address if row.address_id else member.biglobe_user_id}
        for row in facts.pending
    ]
    check_printable({"登録者名": member.name, "本文": parts["body"], "件名": parts["subject"]})
    return {**parts, "accounts": accounts, "qr": mark_safe(_qr_svg(parts["self_report_url"]))}  # noqa: S308


def bundle_pdf(*, notice: Notice, members: list[Member]) -> bytes:
    phone_table = office_phone_table()
    facts = member_facts(campaign=notice.campaign, members=members)
    pages = [member_pages(notice=notice, member=m, phone_table=phone_table, facts=facts[m.pk]) for m in members]
    return_fax = return_fax_for(p["member"].office for p in pages if not p["complete"])
    for page in pages:
        page["return_fax"] = return_fax.get(page["member"].office_id)
    html = render_to_string("notices/print_bundle.html", {"notice": notice, "pages": pages})
    return render_pdf(html)
