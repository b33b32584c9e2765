"""Tracking views: dashboard, account lists with bulk updates, exports, member actions, the self-report link."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from documents.exports import export_job_create
from documents.models import ExportJob
from efnet import audit
from efnet.ids import page_number, parse_id, parse_optional_id
from efnet.middleware import public
from efnet.permissions import can_edit_members, require_member_editor
from efnet.request_context import client_ip
from efnet.scoping import get_visible_or_404, visible_to
from efnet.sorting import sort_from
from members.models import Member
from members.selectors import member_text_q
from tracking import exports, selectors, selfreport, services
from tracking.chart import completion_chart
from tracking.forms import RECORD_RETRY, CallResultForm, ListFilterForm, StatusActionForm
from tracking.models import AccountStatus, Campaign, SelfReportUse, Source, Status
from tracking.selectors import member_accounts

MEMBER_PAGE = 50
ACCOUNT_PAGE = 100


def _filters(request):
    form = ListFilterForm(request.GET or None, user=request.user)
    if form.office_refused:
        # Not silently widened to every office the user sees: the field has audited an office out of scope.
        raise BadRequest("営業所の指定が正しくありません。")
    return form, form.values()


def _querystring(values: dict, **overrides) -> str:
    params = {
        "campaign": values["campaign"].pk if values.get("campaign") else "",
        "office": values["office"].pk if values.get("office") else "",
        "status": values.get("status", ""),
        "q": values.get("q", ""),
    }
    params.update(overrides)
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _no_campaign(request):
    return render(request, "tracking/no_campaign.html", status=200)


def _text_filter(qs, q: str, prefix: str = ""):
    condition = member_text_q(q, prefix)
    return qs if condition is None else qs.filter(condition)


def dashboard(request):
    form, values = _filters(request)
    campaign = values["campaign"]
    if campaign is None:
        return _no_campaign(request)
    rows, total = selectors.dashboard_rows(user=request.user, campaign=campaign)
    today = timezone.localdate()
    series = selectors.completion_series(user=request.user, campaign=campaign, until=today)
    counted = total.accounts["total"] - total.accounts[Status.EXCLUDED]
    chart = completion_chart(series, total=counted, deadline=campaign.deadline, today=today)
    waiting = selectors.waiting_members(user=request.user, campaign=campaign)
    for m in waiting:
        m.waiting_days = (today - timezone.localdate(m.last_notice)).days if m.last_notice else None
    return render(
        request,
        "tracking/dashboard.html",
        {
            "campaign": campaign,
            "campaigns": Campaign.objects.all(),
            "rows": rows,
            "total": total,
            "statuses": selectors.STATUS_ORDER,
            "chart": chart,
            "waiting": waiting,
            "show_offices": request.user.office_id is None,
            "member_list_url": reverse("tracking:member_list"),
            "account_list_url": reverse("tracking:account_list"),
        },
    )


def _member_queryset(request, values):
    """member_states rows for the list filters, longest-waiting first when listing the incomplete."""
    return exports.call_list_states(user=request.user, values=values)


MEMBER_SORTS = {
    "number": ("member__number",),
    "name": ("member__name", "member__number"),
    "kana": ("member__name_kana", "member__number"),
    "office": ("office__code", "member__number"),
    "state": ("state", "member__number"),
    "waiting": ("last_notice", "member__number"),  # ascending: the longest waiting first
}
ACCOUNT_SORTS = {
    "number": ("member__number", "address__slot", "id"),
    "office": ("office__code", "member__number", "address__slot", "id"),
    "status": ("status", "member__number", "address__slot", "id"),
    "status_on": ("status_on", "member__number", "address__slot", "id"),
    "updated": ("updated_at", "id"),
}


def member_list(request):
    """Members of a campaign by state: the list behind every member number on the dashboard."""
    form, values = _filters(request)
    if values["campaign"] is None:
        return _no_campaign(request)
    sort, order = sort_from(request, MEMBER_SORTS)
    qs = _member_queryset(request, values)
    page = Paginator(qs.order_by(*order) if order else qs, MEMBER_PAGE).get_page(page_number(request))
    page.object_list = selectors.hydrate(page.object_list)
    today = timezone.localdate()
    for m in page.object_list:
        m.waiting_days = (today - timezone.localdate(m.last_notice)).days if m.last_notice else None
    return render(
        request,
        "tracking/member_list.html",
        {
            "form": form,
            "values": values,
            "page": page,
            "querystring": _querystring(values, sort=sort.key and request.GET.get("sort", "")),
            "accounts_querystring": _querystring(values, status=values["status"]),
            "back": request.GET.urlencode(),
            "sort": sort,
            "can_edit": can_edit_members(request.user),
            "call_form": CallResultForm(auto_id=False),
        },
    )


def member_export(request, fmt):
    """The filtered member list as a call list file, streamed: CSV is written as the rows are read, .xlsx is
    built in a temporary file (openpyxl write-only) and sent from it, so memory stays flat whatever the size.
    Beyond EXPORT_BACKGROUND_ROWS rows a worker writes the same file (documents.exports) and the user gets a
    page with its progress and a one-time download. Audited, with its row count, before the first byte goes
    out (or the job is queued)."""
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest("形式が正しくありません。")
    form, values = _filters(request)
    campaign = values["campaign"]
    if campaign is None:
        return _no_campaign(request)
    export = exports.call_list_export(user=request.user, values=values, fmt=fmt)
    applied_office = values["office"] or request.user.office  # an office user's list is their office's
    event = {
        "office": applied_office,
        "target": campaign,
        "details": {
            "format": fmt,
            "rows": export.rows,
            "filters": {
                "office": applied_office.name if applied_office else "すべての営業所",
                "office_id": applied_office.pk if applied_office else None,
                "status": values["status"],
                "q": values["q"],
            },
        },
    }
    if export.background:
        job = export_job_create(
            actor=request.user,
            source=ExportJob.Source.CALL_LIST,
            fmt=fmt,
            params=exports.call_list_params(values),
            export=export,
            audit_action="tracking.calllist.exported",
            audit_event=event,
        )
        messages.info(request, f"{export.rows:,}件あるため、ファイルをバックグラウンドで作成します。")
        return redirect("documents:export_detail", pk=job.pk)
    audit.record("tracking.calllist.exported", actor=request.user, **event)
    if export.spool is not None:
        # Closed (and so deleted) by FileResponse once sent.
        response = FileResponse(
            export.spool(None), content_type=export.content_type, as_attachment=True, filename=export.name
        )
    else:
        response = StreamingHttpResponse(export.produce(None), content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.name}"'
    response["Cache-Control"] = "no-store"
    return response


def _account_queryset(request, values):
    qs = selectors.campaign_accounts(user=request.user, campaign=values["campaign"]).select_related(
        "member", "member__office", "address", "recorded_by"
    )
    if values["office"]:
        qs = qs.filter(office=values["office"])
    status = values["status"]
    if status == selectors.INCOMPLETE:
        qs = qs.filter(status__in=selectors.OPEN_STATUSES)
    elif status in Status.values:
        qs = qs.filter(status=status)
    member_id = parse_optional_id(request.GET.get("member"), what="会員")
    if member_id is not None:
        qs = qs.filter(member_id=member_id)
    qs = _text_filter(qs, values["q"], prefix="member__")
    return qs.order_by("member__number", "address__slot", "id")


def account_list(request):
    """Accounts of a campaign, filterable; editors select many and set a status at once."""
    form, values = _filters(request)
    if values["campaign"] is None:
        return _no_campaign(request)
    sort, order = sort_from(request, ACCOUNT_SORTS)
    qs = _account_queryset(request, values)
    page = Paginator(qs.order_by(*order) if order else qs, ACCOUNT_PAGE).get_page(page_number(request))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "tracking/account_list.html",
        {
            "form": form,
            "values": values,
            "page": page,
            "querystring": params.urlencode(),
            "sort": sort,
            "action_form": StatusActionForm(auto_id="bulk_%s", bulk=True),
            "can_edit": can_edit_members(request.user),
        },
    )


def _parse_items(request) -> list[tuple[int, int]] | None:
    """The ticked ``pk:version`` pairs; None when any of them is malformed (the list was tampered with)."""
    items = []
    for raw in request.POST.getlist("item"):
        pk, _, version = raw.partition(":")
        pk, version = parse_id(pk), parse_id(version)
        if pk is None or version is None:
            return None
        items.append((pk, version))
    return items


def _back_to_list(request):
    query = request.POST.get("back", "")
    return redirect(reverse("tracking:account_list") + (f"?{query}" if query else ""))


def _stale_message(row) -> str:
    who = row.recorded_by.username if row.recorded_by else "本人報告・案内送付"
    when = date_format(timezone.localtime(row.updated_at), "SHORT_DATETIME_FORMAT")
    return f"{row.member.number} {row.account_label}（{who}、{when}に「{row.status}」）"


@require_POST
@require_member_editor
def bulk_update(request):
    """Step 1 shows what will happen and the count; step 2 (confirmed) records it."""
    form = StatusActionForm(request.POST, bulk=True)
    items = _parse_items(request)
    if items is None:
        messages.error(request, "選んだアカウントの指定が正しくありません。一覧を開き直してください。")
        return _back_to_list(request)
    if not items:
        messages.error(request, "アカウントを選んでください。")
        return _back_to_list(request)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_list(request)
    versions = dict(items)
    rows = list(
        visible_to(
            request.user,
            AccountStatus.objects.filter(pk__in=versions).select_related("member", "address", "recorded_by"),
            office_path="member__office",
        ).order_by("member__number", "address__slot")
    )
    if len(rows) != len(versions):
        # A row of another office (or gone): refuse all rather than guess.
        audit.record("access.denied", actor=request.user, details={"model": "tracking.accountstatus", "bulk": True})
        messages.error(request, "選んだアカウントの一部が見つかりません。一覧を開き直してください。")
        return _back_to_list(request)
    data = form.cleaned_data
    if request.POST.get("confirmed") != "1":
        return render(
            request,
            "tracking/bulk_confirm.html",
            {
                "rows": rows,
                "form": form,
                "data": data,
                "items": [f"{r.pk}:{versions[r.pk]}" for r in rows],
                "back": request.POST.get("back", ""),
            },
        )
    result = services.statuses_bulk_record(
        items=[(r, versions[r.pk]) for r in rows],
        status=data["status"],
        actor=request.user,
        source=data["source"],
        status_on=data["status_on"],
        note=data["note"],
    )
    if result.applied:
        messages.success(request, f"{len(result.applied)}件のアカウントを「{data['status']}」にしました。")
    if result.unchanged:
        messages.info(request, f"{len(result.unchanged)}件はすでに「{data['status']}」でした。")
    if result.stale:
        messages.error(
            request,
            f"{len(result.stale)}件は、画面を開いた後にほかの人が変更していたため変更していません"
            "（入力内容は履歴に残しました）：" + "、".join(_stale_message(r) for r in result.stale),
        )
    for row, message in result.invalid:
        messages.error(request, f"{row.member.number} {row.account_label}：{message}")
    return _back_to_list(request)


@require_POST
@require_member_editor
def account_record(request, pk):
    """One account's status from the member page (完了 today by phone is one click)."""
    row = get_visible_or_404(
        request.user, AccountStatus.objects.select_related("member", "address"), office_path="member__office", pk=pk
    )
    target = reverse("members:detail", kwargs={"pk": row.member_id}) + "#tracking"
    form = StatusActionForm(request.POST)
    if not form.is_valid():
        errors = [error for field_errors in form.errors.values() for error in field_errors]
        for error in errors:
            messages.error(request, f"{row.account_label}：{error}")
        _keep_for_retry(request, row, errors)
        return redirect(target)
    version = request.POST.get("version", "")
    expected_version = parse_id(version)
    if version and expected_version is None:
        messages.error(
            request, f"{row.account_label}：画面の情報が正しくありません。会員のページを開き直してください。"
        )
        return redirect(target)
    data = form.cleaned_data
    try:
        services.status_record(
            account_status=row,
            status=data["status"],
            actor=request.user,
            source=data["source"],
            status_on=data["status_on"],
            note=data["note"],
            expected_version=expected_version,
        )
    except services.StaleStatusError as exc:
        messages.error(
            request,
            f"{row.account_label}は、画面を開いた後にほかの人が変更していたため変更していません："
            f"{_stale_message(exc.account_status)}。入力内容は履歴に残しました。確認してからやり直してください。",
        )
    except ValidationError as exc:
        messages.error(request, f"{row.account_label}：{' '.join(exc.messages)}")
        _keep_for_retry(request, row, exc.messages)
    else:
        messages.success(request, f"{row.account_label}を「{data['status']}」にしました（{data['source']}）。")
    return redirect(target)


def _keep_for_retry(request, row, errors) -> None:
    """What was typed in 「ほかの記録…」, for the member page to show that form again, open, with the errors
    (tracking_tags.tracking_member_panel takes it out of the session). Nothing here is secret."""
    request.session[RECORD_RETRY] = {
        "account": row.pk,
        "data": {key: request.POST.get(key, "")[:500] for key in ("status", "status_on", "source", "note")},
        "errors": [str(e) for e in errors],
    }


@require_POST
@require_member_editor
def member_accounts_done(request, pk):
    """The accounts ticked on the member page, 完了 today by phone, in one go (a member calls about two of
    their addresses). Each carries the version the page showed, so nothing changed meanwhile is overwritten."""
    member = get_visible_or_404(request.user, Member.objects.select_related("office"), pk=pk)
    target = reverse("members:detail", kwargs={"pk": member.pk}) + "#tracking"
    items = _parse_items(request)
    if items is None:
        messages.error(request, "選んだアカウントの指定が正しくありません。会員のページを開き直してください。")
        return redirect(target)
    if not items:
        messages.error(request, "完了にするアカウントにチェックを入れてください。")
        return redirect(target)
    versions = dict(items)
    rows = list(
        AccountStatus.objects.filter(pk__in=versions, member=member)
        .select_related("member", "address", "recorded_by")
        # The main account (no address) first, as on the page: PostgreSQL sorts NULL last unless told.
        .order_by(F("address__slot").asc(nulls_first=True))
    )
    if len(rows) != len(versions):
        # Not this member's accounts (the page was tampered with): refuse all rather than guess.
        audit.record("access.denied", actor=request.user, member=member, details={"model": "tracking.accountstatus"})
        messages.error(request, "選んだアカウントの一部が見つかりません。会員のページを開き直してください。")
        return redirect(target)
    result = services.statuses_bulk_record(
        items=[(r, versions[r.pk]) for r in rows],
        status=Status.DONE,
        actor=request.user,
        source=Source.PHONE,
        status_on=timezone.localdate(),
    )
    if result.applied:
        labels = "、".join(r.account_label for r in result.applied)
        messages.success(request, f"{labels}を「完了」にしました（電話）。")
    if result.unchanged:
        messages.info(request, "、".join(r.account_label for r in result.unchanged) + "はすでに「完了」でした。")
    if result.stale:
        messages.error(
            request,
            "画面を開いた後にほかの人が変更していたため変更していません（入力内容は履歴に残しました）："
            + "、".join(_stale_message(r) for r in result.stale),
        )
    for row, message in result.invalid:
        messages.error(request, f"{row.account_label}：{message}")
    return redirect(target)


def _back_to_member_list(request, anchor: str = ""):
    query = request.POST.get("back", "")
    return redirect(reverse("tracking:member_list") + (f"?{query}" if query else "") + anchor)


@require_POST
@require_member_editor
def member_call_record(request, pk):
    """A call's outcome from a row of the call list, onto the member's timeline; back to the same list."""
    member = get_visible_or_404(request.user, Member.objects.select_related("office"), pk=pk)
    campaign = selectors.current_campaign()
    form = CallResultForm(request.POST)
    if campaign is None:
        messages.error(request, "実施中のキャンペーンがないため、架電結果は記録できません。")
        return _back_to_member_list(request)
    if not form.is_valid():
        errors = [error for field_errors in form.errors.values() for error in field_errors]
        messages.error(request, f"{member.number} {member.name}：" + " ".join(errors))
        return _back_to_member_list(request, f"#m{member.pk}")
    data = form.cleaned_data
    try:
        services.member_call_record(
            member=member,
            campaign=campaign,
            result=data["result"],
            called_on=data["called_on"],
            note=data["note"],
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, f"{member.number} {member.name}：{' '.join(exc.messages)}")
    else:
        messages.success(request, f"{member.number} {member.name}の架電結果「{data['result']}」を記録しました。")
    return _back_to_member_list(request, f"#m{member.pk}")


@require_POST
@require_member_editor
@never_cache
def self_report_link_create(request, pk):
    """A clerk asks for the member's self-report link: it is signed now and shown on this answer only, so the
    member page never carries a live credential."""
    member = get_visible_or_404(request.user, Member.objects.select_related("office"), pk=pk)
    target = reverse("members:detail", kwargs={"pk": member.pk}) + "#tracking"
    campaign = selectors.current_campaign()
    if campaign is None:
        messages.error(request, "実施中のキャンペーンがないため、本人報告リンクは作成できません。")
        return redirect(target)
    try:
        path = services.self_report_link_create(member=member, campaign=campaign, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(target)
    return render(
        request,
        "tracking/self_report_link.html",
        {"member": member, "campaign": campaign, "link": request.build_absolute_uri(path), "back": target},
    )


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
        chosen = [pk for pk in map(parse_id, request.POST.getlist("account")) if pk in open_ids]
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
        {
            "member": member,
            "campaign": campaign,
            "accounts": accounts,
            "error": error,
            "has_open": any(a.status in selectors.OPEN_STATUSES for a in accounts),
        },
    )
