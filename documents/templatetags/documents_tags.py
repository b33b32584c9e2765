from django import template
from django.template.loader import render_to_string

from documents.forms import AddressListIssueForm, CardIssueForm, PasswordResetForm
from efnet.permissions import can_edit_members, can_reveal

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
            "list_form": AddressListIssueForm(initial={"highlight_date": latest.issued_on if latest else None}),
            "reset_form": PasswordResetForm(),
            "has_addresses": latest is not None,
            "can_reset": can_edit_members(user),
        },
        request=request,
    )
