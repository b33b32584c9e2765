from django import template
from django.template.loader import render_to_string
from django.utils import timezone

from efnet.permissions import can_edit_members
from tracking.forms import RECORD_RETRY, RECORDABLE_SOURCES, StatusActionForm
from tracking.models import Source, Status
from tracking.selectors import current_campaign, member_accounts
from tracking.timeline import member_timeline

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag(takes_context=True)
def tracking_member_panel(context, member):
    """The member page's password-change panel: one action per account, and 完了 for several at once.

    A 「ほかの記録…」 form refused for its input comes back open, with what was typed and why
    (tracking.views.account_record keeps it in the session for this one page)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    campaign = current_campaign()
    accounts = member_accounts(member=member, campaign=campaign) if campaign else []
    can_edit = bool(user and can_edit_members(user))
    pending = [a for a in accounts if a.status in (Status.NOT_NOTIFIED, Status.NOTIFIED)]
    # Only a button: the signed link is created on request (tracking.views.self_report_link_create).
    offer_link = bool(campaign and can_edit and pending and member.is_active)
    complete = bool(accounts) and not pending and any(a.status == Status.DONE for a in accounts)
    retry = None
    session = getattr(request, "session", None)
    if session is not None and RECORD_RETRY in session:
        candidate = session.get(RECORD_RETRY)
        if candidate and any(a.pk == candidate.get("account") for a in accounts):
            retry = session.pop(RECORD_RETRY)
    return render_to_string(
        "tracking/_member_panel.html",
        {
            "member": member,
            "campaign": campaign,
            "accounts": accounts,
            "can_edit": can_edit,
            "complete": complete,
            "pending_count": len(pending),
            "open_count": len(pending),
            "retry": retry,
            "offer_self_report_link": offer_link,
            "today": timezone.localdate(),
            "statuses": [s.value for s in Status],
            "sources": RECORDABLE_SOURCES,
            "phone": Source.PHONE.value,
            "form": StatusActionForm(),
        },
        request=request,
    )


@register.simple_tag(takes_context=True)
def tracking_member_timeline(context, member):
    """Everything that happened to the member, newest first."""
    return render_to_string(
        "tracking/_member_timeline.html", {"timeline": member_timeline(member)}, request=context.get("request")
    )
