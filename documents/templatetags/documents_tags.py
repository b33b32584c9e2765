import re

from django import template
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe

from documents.forms import AddressListIssueForm, CardIssueForm, PasswordResetForm
from efnet.permissions import can_edit_members, can_reveal
from mailaddresses.models import AddressListIssue

register = template.Library()


@register.simple_tag(takes_context=True)
def documents_member_actions(context, member):
    """The member page's reissue actions: only for users who may print passwords."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not can_reveal(user):
        return ""
    latest = member.additional_addresses.filter(is_active=True).order_by("-issued_on").first()
    return render_to_string(
        "documents/_member_actions.html",
        {
            "member": member,
            "card_form": CardIssueForm(),
            "list_form": AddressListIssueForm(
                initial={
                    "highlight_date": latest.issued_on if latest else None,
                    "reason": _list_reason_guess(member, latest),
                }
            ),
            "reset_form": PasswordResetForm(),
            "has_addresses": latest is not None,
            "can_reset": can_edit_members(user),
        },
        request=request,
    )


def _list_reason_guess(member, latest) -> str:
    """新規追加 when an address was issued after the last list the portal printed, else 紛失再発行 (a member with
    no list on record had one on paper before the portal). The clerk can pick another reason."""
    last = member.address_list_issues.order_by("-issued_on").values_list("issued_on", flat=True).first()
    if latest is not None and last is not None and latest.issued_on > last:
        return AddressListIssue.Reason.NEW_ADDRESS
    return AddressListIssue.Reason.LOST


_NUMERAL = "[0-9０-９一二三四五六七八九十百千〇]+"
_UNIT = "(?:丁目|番地|番町|番|号室|号|階|Ｆ|F)?"
HOUSE_NUMBER = re.compile(f"{_NUMERAL}{_UNIT}(?:[-－‐−]{_NUMERAL}{_UNIT})*")


# Longest part kept on one line: shorter than the narrowest value column (a list block's, about 39 monospaced
# or 23 Japanese characters at 11pt); a longer part may break anywhere rather than run off the page.
MAX_MAIL_PART = 30
MAX_ADDRESS_PART = 18


def _house_numbers_kept(part: str) -> str:
    out, pos = [], 0
    for match in HOUSE_NUMBER.finditer(part):
        if len(match.group()) < 2:
            continue
        out.append(escape(part[pos : match.start()]))
        out.append(f'<span class="nobr">{escape(match.group())}</span>')
        pos = match.end()
    out.append(escape(part[pos:]))
    return "".join(out)


@register.filter
def address_breaks(value: str) -> str:
    """An address, escaped, that breaks at its spaces when it can (a short space-separated part stays on one
    line), and never inside a house number (三丁目, 十三号, 1-2-3, 一三〇五号室): Japanese text may otherwise
    break between any two characters, and 「十」 at a line's end with 「三号」 on the next misreads as another
    number. Plain spans, not inline blocks: an inline block per part doubled a card's rendering time."""
    parts = re.split(r"([ \u3000]+)", value)
    out = []
    for i, part in enumerate(parts):
        if i % 2 or len(part) > MAX_ADDRESS_PART:
            out.append(escape(part) if i % 2 else _house_numbers_kept(part))
        elif part:
            out.append(f'<span class="nobr">{escape(part)}</span>')
    return mark_safe("".join(out))  # noqa: S308 (every piece is escaped)


@register.filter
def mail_breaks(value: str) -> str:
    """A mail address, escaped, as parts that start at its @ and its dots, each kept on one line, with a break
    opportunity (<wbr>) before each: lines then break before the @ or a dot, where nobody mistakes the break
    for part of the address, instead of after a hyphen, which reads as one. A part too long for a line is left
    to break anywhere."""
    parts = [p for p in re.split(r"(?=[@.])", value) if p]
    return mark_safe(  # noqa: S308 (every piece is escaped)
        "<wbr>".join(f'<span class="nobr">{escape(p)}</span>' if len(p) <= MAX_MAIL_PART else escape(p) for p in parts)
    )
