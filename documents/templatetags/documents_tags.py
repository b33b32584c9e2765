from django import template
from django.template.loader import render_to_string

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
