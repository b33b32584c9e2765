"""Notices: admins only. Views are thin: permission, form, one service call, message, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from efnet import audit
from efnet.ids import parse_id
from efnet.permissions import require_admin
from members.models import Member
from notices import selectors, services
from notices.emails import build_message, new_message_id, render_for
from notices.forms import CopyTemplateForm, NoticeForm, PreviewForm, UnknownDecisionForm
from notices.models import Channel, Delivery, Notice
from tracking.selectors import current_campaign


def _error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "この操作はできません。"


@require_admin
def notice_list(request):
    notices = Notice.objects.select_related("campaign", "author", "approved_by").annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        unknown=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.UNKNOWN)),
    )[:100]
    for notice in notices:
        notice.state_label = notice.state_text(failed=notice.failed, unknown=notice.unknown)
    campaign = current_campaign()
    copy_form = CopyTemplateForm(initial={"campaign": campaign.pk if campaign else None})
    return render(request, "notices/list.html", {"notices": notices, "copy_form": copy_form})


@require_admin
def create(request):
    campaign = current_campaign()
    form = NoticeForm(request.POST or None, initial={"campaign": campaign.pk if campaign else None})
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "案内の下書きを作成しました。")
            _request_approval_if_asked(request, notice)
            return redirect("notices:detail", pk=notice.pk)
    return render(request, "notices/form.html", {"form": form, "creating": True})


@require_admin
@require_POST
def copy_template(request):
    form = CopyTemplateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "ひな形とキャンペーンを選んでください。")
        return redirect("notices:list")
    notice = services.notice_copy_template(
        template=form.cleaned_data["template"],
        campaign=form.cleaned_data["campaign"],
        edition=form.cleaned_data["edition"],
        actor=request.user,
    )
    messages.success(request, "ひな形から下書きを作成しました。内容と対象を確認してください。")
    return redirect("notices:edit", pk=notice.pk)


@require_admin
def edit(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    if not notice.is_editable:
        messages.error(request, "送信を始めた案内は編集できません。")
        return redirect("notices:detail", pk=pk)
    form = NoticeForm(request.POST or None, instance=notice)
    if request.method == "POST" and form.is_valid():
        was_approved = notice.state == Notice.State.APPROVED
        try:
            services.notice_update(notice=notice, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if was_approved:
                messages.warning(request, "承認済みの案内を編集したため、下書きに戻りました。もう一度承認が必要です。")
            else:
                messages.success(request, "保存しました。")
            _request_approval_if_asked(request, notice)
            return redirect("notices:detail", pk=pk)
    # The form must not overwrite the instance shown beside it when invalid.
    notice.refresh_from_db()
    return render(request, "notices/form.html", {"form": form, "notice": notice})


def _request_approval_if_asked(request, notice: Notice) -> None:
    """「保存して承認を依頼」: the save and the request in one click."""
    if request.POST.get("request_approval") == "1" and services.notice_request_approval(
        notice=notice, actor=request.user
    ):
        messages.success(request, "他の管理者に承認を依頼しました。")


@require_admin
def audience(request):
    """The live count and sample for the filters on the edit page (htmx swaps it in as they change)."""
    form = NoticeForm(request.GET)
    form.is_valid()
    data = {k: v for k, v in getattr(form, "cleaned_data", {}).items() if k.startswith("audience_") or k == "campaign"}
    if not data.get("campaign"):
        return render(request, "notices/_audience.html", {"summary": None})
    probe = Notice(**data)
    return render(request, "notices/_audience.html", {"summary": selectors.audience_summary(probe)})


@require_admin
def detail(request, pk):
    notice = get_object_or_404(Notice.objects.select_related("campaign", "author", "approved_by"), pk=pk)
    frozen = notice.state != Notice.State.DRAFT
    summary = None if frozen else selectors.audience_summary(notice)
    channel_counts = {c: notice.deliveries.filter(channel=c).count() for c in (Channel.EMAIL, Channel.PRINT)}
    return render(
        request,
        "notices/detail.html",
        {
            "notice": notice,
            "summary": summary,
            "channel_counts": channel_counts,
            "can_approve": notice.state == Notice.State.DRAFT and notice.author_id != request.user.pk,
            "can_request_approval": notice.state == Notice.State.DRAFT
            and notice.author_id == request.user.pk
            and notice.approval_requested_at is None,
            "print_waiting": _queued_by_channel(notice)[Channel.PRINT] if notice.state in MARKABLE_STATES else 0,
            **_progress_context(notice),
        },
    )


def _progress_context(notice: Notice) -> dict:
    return {
        "progress": selectors.progress(notice),
        "reasons": selectors.problem_reasons(notice),
        "problems": notice.deliveries.filter(status__in=[Delivery.Status.FAILED, Delivery.Status.UNKNOWN])
        .select_related("member")
        .order_by("status", "id")[:200],
        "decision_form": UnknownDecisionForm(),
    }


@require_admin
@never_cache
def progress(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    return render(request, "notices/_progress.html", {"notice": notice, **_progress_context(notice)})


def _preview_member(request, notice):
    """The member to preview: the one chosen by number (or by link), else the first recipient. A typed number
    that is not a member, or a member the notice does not go to, is said so — never replaced by another member,
    which would preview someone else's text under the number the admin typed."""
    form = PreviewForm(request.GET or None)
    if not form.is_valid():
        if "member" in form.errors:  # a link to a member who no longer exists or is no longer active
            return form, None, "この会員はプレビューできません（見つからないか、無効になっています）。"
        return form, None, "会員番号は数字で入力してください（全角数字・ハイフン・空白も使えます）。"
    member = form.cleaned_data.get("member")
    number = form.cleaned_data.get("number")
    if member is None and number:
        member = Member.objects.filter(number=number).first()
        if member is None:
            return form, None, f"会員番号 {number} の会員は見つかりません。"
        if not _in_audience(notice, member):
            return form, None, f"会員番号 {number}（{member.name}）はこの案内の対象ではありません。"
    if member is None:
        first = notice.deliveries.select_related("member").first()
        member = first.member if first else selectors.audience(notice).first()
    return form, member, ""


def _in_audience(notice, member) -> bool:
    """Once approved, the audience is the notice's deliveries; before, whom its filters select now."""
    if notice.deliveries.exists():
        return notice.deliveries.filter(member=member).exists()
    return selectors.audience(notice).filter(pk=member.pk).exists()


@require_admin
@never_cache
def preview(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    form, member, refusal = _preview_member(request, notice)
    kind = request.GET.get("as", "text")
    if member is None:
        context = {"notice": notice, "form": form, "member": None, "refusal": refusal}
        return render(request, "notices/preview.html", context)
    if kind == "pdf":
        from notices.printing import bundle_pdf

        try:
            bundle = bundle_pdf(notice=notice, members=[member])
        except ValidationError as exc:  # no FAX number for this member's reply form
            messages.error(request, _error_text(exc))
            return redirect("notices:detail", pk=pk)
        if bundle.left_out:
            # This one member cannot be printed: say why on the preview page instead of an empty PDF or a 500.
            messages.error(request, bundle.left_out[0].message)
            return redirect(f"{reverse('notices:preview', args=[notice.pk])}?member={member.pk}")
        response = HttpResponse(bundle.pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="notice-{notice.pk}-preview.pdf"'
        return response
    message = build_message(notice=notice, member=member, to=member.email or "fax@invalid", message_id="<preview>")
    html = message.alternatives[0][0]
    if kind == "html":
        # Shown on its own, sandboxed by the CSP of this response.
        response = HttpResponse(html)
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        return response
    return render(
        request,
        "notices/preview.html",
        {
            "notice": notice,
            "form": form,
            "member": member,
            "message": message,
            "parts": render_for(notice=notice, member=member),
        },
    )


@require_admin
@require_POST
def test_send(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    if not request.user.email:
        messages.error(request, "テスト送信先（あなたのメールアドレス）が登録されていません。")
        return redirect("notices:preview", pk=pk)
    _form, member, _refusal = _preview_member(request, notice)
    if member is None:
        messages.error(request, "見本にする会員がいません。")
        return redirect("notices:preview", pk=pk)
    message = build_message(
        notice=notice, member=member, to=request.user.email, message_id=new_message_id(), connection=get_connection()
    )
    message.subject = "[テスト] " + message.subject
    message.send(fail_silently=False)
    audit.record("notice.test_sent", actor=request.user, target=notice, details={"sample_member": member.number})
    messages.success(request, f"{request.user.email} にテスト送信しました（見本: {member.number}）。")
    return redirect("notices:preview", pk=pk)


def _action(request, pk, service, done_text, none_text=""):
    notice = get_object_or_404(Notice, pk=pk)
    try:
        result = service(notice=notice, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        if isinstance(exc, PermissionDenied):
            # Refused, though answered with a message rather than a 403 page: audited like every refusal.
            audit.record(
                "access.denied", actor=request.user, target=notice, details={"path": request.path, "why": str(exc)}
            )
        messages.error(request, _error_text(exc))
    else:
        if not result and none_text:  # False, or 0 rows: nothing was left to do
            messages.info(request, none_text)
        else:
            messages.success(request, done_text.format(result=result))
    return redirect("notices:detail", pk=pk)


def _confirmed(request) -> bool:
    """The second step of an action that cannot be undone: the confirmation page's form says so."""
    return request.POST.get("confirmed") == "1"


def _version(notice: Notice) -> str:
    return notice.updated_at.isoformat()


def _ask(request, notice: Notice, *, url_name: str, question: str, facts: list, button: str, note: str = ""):
    """The confirmation page: what the action will do, with the counts, and one button that does it."""
    context = {
        "notice": notice,
        "action_url": reverse(url_name, args=[notice.pk]),
        "question": question,
        "facts": facts,
        "button": button,
        "note": note,
        "version": _version(notice),
    }
    return render(request, "notices/confirm.html", context)


def _changed_since_confirmation(request, notice: Notice) -> bool:
    """The admin confirmed what they saw; if the notice was edited since, they confirm again."""
    if request.POST.get("version") == _version(notice):
        return False
    messages.error(request, "確認の後に案内が変更されました。内容を確認してから、もう一度操作してください。")
    return True


@require_admin
@require_POST
def request_approval(request, pk):
    return _action(
        request,
        pk,
        services.notice_request_approval,
        "他の管理者に承認を依頼しました。",
        "この案内はすでに承認を依頼しています。",
    )


@require_admin
@require_POST
def approve(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    if not _confirmed(request):
        if notice.state != Notice.State.DRAFT or notice.author_id == request.user.pk:
            # Nothing to confirm: the service refuses (and a refused author is audited like every refusal).
            return _action(request, pk, services.notice_approve, "")
        summary = selectors.audience_summary(notice, sample_size=0)
        return _ask(
            request,
            notice,
            url_name="notices:approve",
            question="この案内を承認します。承認すると、次の送付先が確定します。",
            facts=[
                ("送付先", f"{summary['total']:,} 名"),
                ("メール", f"{summary['email']:,} 名"),
                ("FAX・印刷", f"{summary['print']:,} 名"),
            ],
            button="承認する",
            note="人数は今の状況です。承認の瞬間の対象で確定します。",
        )
    if _changed_since_confirmation(request, notice):
        return redirect("notices:detail", pk=pk)
    return _action(request, pk, services.notice_approve, "承認しました。送付先 {result} 件を確定しました。")


@require_admin
@require_POST
def send(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    if not _confirmed(request):
        if notice.state != Notice.State.APPROVED:
            messages.info(request, "承認済みの案内だけ送信を開始できます。")
            return redirect("notices:detail", pk=pk)
        queued = _queued_by_channel(notice)
        return _ask(
            request,
            notice,
            url_name="notices:send",
            question=f"{notice.edition_label}の送信を開始します。送信したメールは取り消せません。",
            facts=[
                ("メールで送信", f"{queued[Channel.EMAIL]:,} 件"),
                ("FAX・印刷", f"{queued[Channel.PRINT]:,} 件（PDFを作成して送付）"),
            ],
            button="送信を開始",
            note="FAX・印刷分は、送付したあと「FAX・印刷分を送付済みにする」で記録します。",
        )
    if _changed_since_confirmation(request, notice):
        return redirect("notices:detail", pk=pk)
    return _action(request, pk, services.notice_send, "送信を開始しました。", "この案内はすでに送信を開始しています。")


def _queued_by_channel(notice: Notice) -> dict:
    counts = dict(
        notice.deliveries.filter(status=Delivery.Status.QUEUED)
        .values_list("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    return {c: counts.get(c, 0) for c in (Channel.EMAIL, Channel.PRINT)}


@require_admin
@require_POST
def pause(request, pk):
    return _action(request, pk, services.notice_pause, "一時停止しました。", "送信中ではありません。")


@require_admin
@require_POST
def resume(request, pk):
    return _action(request, pk, services.notice_resume, "再開しました。", "一時停止中ではありません。")


@require_admin
@require_POST
def cancel(request, pk):
    return _action(request, pk, services.notice_cancel, "中止しました（未送信 {result} 件を取り消し）。")


@require_admin
@require_POST
def mark_printed(request, pk):
    notice = get_object_or_404(Notice, pk=pk)
    if not _confirmed(request):
        waiting = _queued_by_channel(notice)[Channel.PRINT]
        if not waiting or notice.state not in MARKABLE_STATES:
            messages.info(request, "送付済みにするFAX・印刷分はありません。")
            return redirect("notices:detail", pk=pk)
        return _ask(
            request,
            notice,
            url_name="notices:mark_printed",
            question="FAX・印刷分を送付済みとして記録します。記録は取り消せません。",
            facts=[("送付済みにする会員", f"{waiting:,} 名")],
            button="送付済みにする",
            note="FAXサーバーで送信したか、郵送したあとに記録してください。会員の状況は「案内済」になります。",
        )
    return _action(
        request,
        pk,
        services.notice_mark_printed,
        "FAX・印刷分 {result} 件を送付済みにしました。",
        "送付済みにするFAX・印刷分はありません。",
    )


MARKABLE_STATES = (Notice.State.SENDING, Notice.State.PAUSED, Notice.State.SENT)


@require_admin
def bundle(request, pk):
    """One PDF: each print/FAX member's notice and FAX-back form (``?all=1``: every delivery's member)."""
    from notices.printing import bundle_pdf

    notice = get_object_or_404(Notice, pk=pk)
    deliveries = notice.deliveries.select_related("member__office").exclude(status=Delivery.Status.CANCELLED)
    if request.GET.get("all") != "1":
        deliveries = deliveries.filter(channel=Channel.PRINT)
    members = [d.member for d in deliveries] if notice.state != Notice.State.DRAFT else list(selectors.audience(notice))
    if not members:
        messages.info(request, "FAX・印刷の対象はありません。")
        return redirect("notices:detail", pk=pk)
    try:
        bundle = bundle_pdf(notice=notice, members=members)
    except ValidationError as exc:  # e.g. an office with no FAX number for the reply forms
        messages.error(request, _error_text(exc))
        return redirect("notices:detail", pk=pk)
    left_out = [item.as_dict() for item in bundle.left_out]
    if not bundle.printed:
        messages.error(request, "印字できない文字があるため、どの会員も印刷できませんでした: " + _left_out_text(bundle))
        return redirect("notices:detail", pk=pk)
    audit.record(
        "notice.bundle.printed",
        actor=request.user,
        target=notice,
        details={"members": bundle.printed, "left_out": left_out},
    )
    if bundle.left_out:
        # Shown on the next page the admin opens; the PDF's first page lists them too.
        messages.warning(request, "印字できない文字があるため、次の会員をPDFから除きました: " + _left_out_text(bundle))
    response = HttpResponse(bundle.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="notice-{notice.pk}-fax.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@require_admin
@require_POST
def bundle_job(request, pk):
    """The bundle as a background job (documents batch machinery): progress page, encrypted one-time file."""
    from notices.bundles import bundle_job_create

    notice = get_object_or_404(Notice, pk=pk)
    try:
        job = bundle_job_create(notice=notice, actor=request.user, everyone=request.POST.get("all") == "1")
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
        return redirect("notices:detail", pk=pk)
    messages.success(request, f"{job.total}名分のPDFの作成を開始しました。")
    return redirect("documents:batch_detail", pk=job.pk)


def _left_out_text(bundle) -> str:
    return "、".join(f"{i.number}（{i.field} {i.codepoint}）" for i in bundle.left_out[:20]) + (
        f" ほか{len(bundle.left_out) - 20}名" if len(bundle.left_out) > 20 else ""
    )


@require_admin
@require_POST
def delivery_retry(request, pk):
    delivery = get_object_or_404(Delivery.objects.select_related("notice", "member"), pk=pk)
    if services.delivery_retry(delivery=delivery, actor=request.user):
        messages.success(request, f"{delivery.member.number} への送信をもう一度行います。")
    else:
        messages.info(request, "失敗した送付だけを再送できます。")
    return redirect("notices:detail", pk=delivery.notice_id)


@require_admin
@require_POST
def delivery_resolve(request, pk):
    delivery = get_object_or_404(Delivery.objects.select_related("notice", "member"), pk=pk)
    form = UnknownDecisionForm(request.POST)
    if form.is_valid() and services.delivery_resolve_unknown(
        delivery=delivery, actor=request.user, decision=form.cleaned_data["decision"]
    ):
        messages.success(request, f"{delivery.member.number} の送付について記録しました。")
    else:
        messages.info(request, "状態が「不明」の送付だけを判断できます。")
    return redirect("notices:detail", pk=delivery.notice_id)


BULK_ACTIONS = {
    # action: (the status it applies to, what the confirmation asks, what it did)
    "retry": (Delivery.Status.FAILED, "失敗した送付 {n} 件を再送します。", "{n} 件を再送します。"),
    "resend": (
        Delivery.Status.UNKNOWN,
        "不明の送付 {n} 件をもう一度送ります。届いている会員には2通目になります。",
        "不明の {n} 件をもう一度送ります。",
    ),
    "sent": (
        Delivery.Status.UNKNOWN,
        "不明の送付 {n} 件を送信済みとして記録します。",
        "不明の {n} 件を送信済みとしました。",
    ),
}


def _bulk_selection(request, notice: Notice, status: str) -> list[int]:
    """The ids the admin chose: ticked rows, every row, or every row of one reason; of ``status`` only."""
    rows = [row for row in selectors.problem_deliveries(notice) if row["status"] == status]
    scope = request.POST.get("scope")
    if scope == "all":
        return [row["pk"] for row in rows]
    if scope == "reason":
        reason = request.POST.get("reason", "")
        return [row["pk"] for row in rows if row["reason"] == reason]
    ticked = {parse_id(value) for value in request.POST.getlist("ids")}
    return [row["pk"] for row in rows if row["pk"] in ticked]


@require_admin
@require_POST
def deliveries_bulk(request, pk):
    """Retry failed deliveries, or decide about 不明 ones, in bulk: first a confirmation showing the count,
    then (``confirmed``) the service call."""
    notice = get_object_or_404(Notice, pk=pk)
    action = request.POST.get("action")
    if action not in BULK_ACTIONS:
        messages.error(request, "操作を選んでください。")
        return redirect("notices:detail", pk=pk)
    status, question, done_text = BULK_ACTIONS[action]
    ids = _bulk_selection(request, notice, status)
    if not ids:
        messages.info(request, f"対象の送付（{Delivery.Status(status).label}）が選ばれていません。")
        return redirect("notices:detail", pk=pk)
    if request.POST.get("confirmed") != "1":
        context = {
            "notice": notice,
            "action": action,
            "question": question.format(n=len(ids)),
            "count": len(ids),
            "scope": request.POST.get("scope", ""),
            "reason": request.POST.get("reason", ""),
            "ids": ids if request.POST.get("scope") not in ("all", "reason") else [],
        }
        return render(request, "notices/bulk_confirm.html", context)
    if action == "retry":
        n = services.deliveries_retry(notice=notice, delivery_ids=ids, actor=request.user)
    else:
        n = services.deliveries_resolve_unknown(notice=notice, delivery_ids=ids, actor=request.user, decision=action)
    messages.success(request, done_text.format(n=n))
    return redirect("notices:detail", pk=pk)
