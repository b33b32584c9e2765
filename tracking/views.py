"""Tracking views: dashboard, account lists with bulk updates, exports, member actions, the self-report link."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from efnet.middleware import public
from efnet.request_context import client_ip
from members.models import Member
from tracking import selfreport, services
from tracking.models import Campaign, SelfReportUse
from tracking.selectors import member_accounts


def _link_problem(request, kind: str, *, member=None, status: int = 400):
    return render(request, "tracking/self_report_problem.html", {"kind": kind, "member": member}, status=status)


@public
@never_cache
def self_report(request, token):
    """The member's own page: tick the accounts whose password was changed. No login; the link is the key."""
    if not selfreport.hit_allowed(nonce=selfreport.token_nonce(token), ip=client_ip(request)):
        return _link_problem(request, "busy", status=429)
    try:
        link = selfreport.load_token(token)
    except selfreport.LinkError as exc:
        return _link_problem(request, exc.kind, status=410 if exc.kind == "expired" else 400)
    member = Member.objects.select_related("office").filter(pk=link.member_id, is_active=True).first()
    campaign = Campaign.objects.filter(pk=link.campaign_id).first()
    if member is None or campaign is None:
        return _link_problem(request, "tampered")
    if not campaign.is_active:
        return _link_problem(request, "expired", member=member, status=410)
    if SelfReportUse.objects.filter(nonce=link.nonce).exists():
        return _link_problem(request, "used", member=member, status=410)
    accounts = member_accounts(member=member, campaign=campaign)
    error = ""
    if request.method == "POST":
        open_ids = {a.pk for a in accounts if a.status in ("未案内", "案内済")}
        chosen = [int(v) for v in request.POST.getlist("account") if v.isdigit() and int(v) in open_ids]
        if not chosen:
            error = "パスワードを変更したアカウントにチェックを入れてから送信してください。"
        else:
            try:
                count = services.self_report_submit(
                    member=member, campaign=campaign, nonce=link.nonce, account_ids=chosen
                )
            except services.LinkAlreadyUsedError:
                return _link_problem(request, "used", member=member, status=410)
            except services.StaleStatusError:
                error = "ほかの操作と重なりました。お手数ですが、もう一度送信してください。"
            else:
                done = member_accounts(member=member, campaign=campaign)
                return render(
                    request,
                    "tracking/self_report_thanks.html",
                    {"member": member, "campaign": campaign, "count": count, "accounts": done},
                )
    return render(
        request,
        "tracking/self_report.html",
        {"member": member, "campaign": campaign, "accounts": accounts, "error": error},
    )


def dashboard(request):
    return render(request, "tracking/dashboard.html", {})
