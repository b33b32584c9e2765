import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from documents import exports, services
from documents.forms import AddressBatchForm, AddressListIssueForm, BatchForm, CardIssueForm, PasswordResetForm
from documents.models import BatchJob, ExportJob
from efnet import audit
from efnet.auth_views import reauth_check
from efnet.permissions import require_member_editor, require_reveal
from efnet.scoping import get_visible_or_404, visible_to
from members.models import Member


def _get_member_for_user(request, pk) -> Member:
    return get_visible_or_404(request.user, Member.objects.select_related("office"), pk=pk)


def _get_batch_for_user(request, pk) -> BatchJob:
    """Another office's batch is a 404 (audited by the scoping helper)."""
    return get_visible_or_404(request.user, BatchJob.objects.select_related("office", "requested_by"), pk=pk)


DOWNLOAD_COOKIE = "efnet_download"
_DOWNLOAD_TOKEN = re.compile(r"[A-Za-z0-9]{8,64}")


def _signal_download(request, response):
    """Tell the page that sent the form that its file has arrived: a download leaves the page where it was (the
    member page, or the password re-entry page with its last error), so static/js/documents.js waits for this
    cookie, carrying the random token it put in the form, and then goes back to the member or batch page, where
    the success message is waiting. Without the script nothing changes: the file still downloads."""
    token = request.POST.get("download_token", "")
    if _DOWNLOAD_TOKEN.fullmatch(token):
        response.set_cookie(
            DOWNLOAD_COOKIE, token, max_age=120, samesite="Strict", secure=request.is_secure(), httponly=False
        )
    return response


def _pdf_response(request, data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # It carries a password: no cache, proxy or browser history may keep it.
    response["Cache-Control"] = "no-store"
    return _signal_download(request, response)


def _reauth_needed(request, *, title: str, subject: str, back_url: str):
    """Printing a password asks for the login password again when the last login is not recent: None when it
    is, else the page asking for it (``subject`` names what is printed, ``back_url`` is the way back), or the
    lockout page when too many wrong passwords locked the user out (``efnet.auth_views.reauth_check``)."""
    form, locked = reauth_check(request)
    if locked is not None:
        return locked
    if form is None:
        return None
    carried = {k: v for k, v in request.POST.items() if k not in ("password", "csrfmiddlewaretoken")}
    response = render(
        request,
        "documents/reauth.html",
        {
            "title": title,
            "subject": subject,
            "back_url": back_url,
            "reauth_form": form,
            "carried": carried,
            "action": request.path,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _issue_member_document(
    request, pk, *, form_class, invalid_message: str, title: str, issue, filename, issued_message
):
    """The shared path of the views that print one member's document: the member (404 outside scope), the
    form, a fresh login, the issuing service, and the PDF, or back to the member page with the message.

    A GET (a reloaded re-entry page, a bookmarked URL) issues nothing and goes back to the member page."""
    member = _get_member_for_user(request, pk)
    if request.method != "POST":
        return redirect("members:detail", pk=member.pk)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, invalid_message)
        return redirect("members:detail", pk=member.pk)
    response = _reauth_needed(
        request,
        title=title,
        subject=f"{member.number} {member.name}",
        back_url=reverse("members:detail", args=[member.pk]),
    )
    if response is not None:
        return response
    try:
        record, data = issue(member, form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("members:detail", pk=member.pk)
    messages.success(request, f"{issued_message}（発行番号 {record.serial}）。ダウンロードしたPDFを印刷してください。")
    return _pdf_response(request, data, filename(member, record))


def _card_filename(member, card) -> str:
    return f"membercard-{member.number}-{card.serial}.pdf"


@require_http_methods(["GET", "POST"])
@never_cache
@require_reveal
@sensitive_post_parameters("password")
def card_issue(request, pk):
    return _issue_member_document(
        request,
        pk,
        form_class=CardIssueForm,
        invalid_message="発行理由を選んでください。",
        title="会員証を再発行",
        issue=lambda member, data: services.member_card_issue(member=member, reason=data["reason"], actor=request.user),
        filename=_card_filename,
        issued_message="会員証を発行しました",
    )


@require_http_methods(["GET", "POST"])
@never_cache
@require_reveal
@sensitive_post_parameters("password")
def address_list_issue(request, pk):
    return _issue_member_document(
        request,
        pk,
        form_class=AddressListIssueForm,
        invalid_message="入力内容を確認してください。",
        title="追加メールアドレスリストを発行",
        issue=lambda member, data: services.address_list_issue(
            member=member, reason=data["reason"], highlight_date=data["highlight_date"], actor=request.user
        ),
        filename=lambda member, issue: f"addresslist-{member.number}-{issue.serial}.pdf",
        issued_message="追加メールアドレスリストを発行しました",
    )


@require_http_methods(["GET", "POST"])
@never_cache
@require_reveal
@require_member_editor
@sensitive_post_parameters("password")
def password_reset(request, pk):
    return _issue_member_document(
        request,
        pk,
        form_class=PasswordResetForm,
        invalid_message="BIGLOBEで再設定したことを確認のうえ、チェックを入れてください。",
        title="パスワード再設定",
        issue=lambda member, data: services.member_password_reset(member=member, actor=request.user),
        filename=_card_filename,
        issued_message="パスワードを再設定し、会員証を発行しました",
    )


def _batch_list_page(request, *, form=None, list_form=None):
    jobs = visible_to(request.user, BatchJob.objects.select_related("office", "requested_by"))[:50]
    context = {
        "form": form or BatchForm(user=request.user),
        "list_form": list_form or AddressBatchForm(user=request.user),
        "jobs": jobs,
    }
    return render(request, "documents/batch_list.html", context)


@require_reveal
def batch_list(request):
    form = BatchForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.batch_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied:
            form.add_error("office", "この営業所の会員証は発行できません。")
        else:
            messages.success(request, f"{job.total}件の会員証の作成を開始しました。")
            return redirect("documents:batch_detail", pk=job.pk)
    return _batch_list_page(request, form=form)


@require_POST
@require_reveal
def address_batch_create(request):
    """The 一括発行 page's second form: every member's additional-address list in one PDF."""
    list_form = AddressBatchForm(request.POST, user=request.user)
    if list_form.is_valid():
        try:
            job = services.address_batch_create(actor=request.user, **list_form.cleaned_data)
        except ValidationError as exc:
            list_form.add_error(None, exc)
        except PermissionDenied:
            list_form.add_error("office", "この営業所の追加メールアドレスリストは発行できません。")
        else:
            messages.success(request, f"{job.total}名の追加メールアドレスリストの作成を開始しました。")
            return redirect("documents:batch_detail", pk=job.pk)
    return _batch_list_page(request, list_form=list_form)


@require_reveal
def batch_detail(request, pk):
    job = _get_batch_for_user(request, pk)
    return render(request, "documents/batch_detail.html", {"job": job})


@require_reveal
def batch_progress(request, pk):
    job = _get_batch_for_user(request, pk)
    return render(request, "documents/_batch_progress.html", {"job": job})


@require_POST
@require_reveal
def batch_cancel(request, pk):
    job = _get_batch_for_user(request, pk)
    if services.batch_cancel(job=job, actor=request.user):
        messages.info(request, "一括発行を取り消しました。")
    else:
        messages.warning(request, "すでに終了しているため取り消せません。")
    return redirect("documents:batch_detail", pk=job.pk)


def _batch_subject(job: BatchJob) -> str:
    if job.kind == BatchJob.Kind.NOTICE_BUNDLE:
        return f"{job.notice} FAX・印刷 {job.total}名"
    if job.kind == BatchJob.Kind.ADDRESS_LISTS:
        return f"{job.office.name} 追加メールアドレスリスト {job.total}名"
    return f"{job.office.name} 会員証 {job.total}件"


@require_http_methods(["GET", "POST"])
@never_cache
@require_reveal
@sensitive_post_parameters("password")
def batch_download(request, pk):
    job = _get_batch_for_user(request, pk)
    if request.method != "POST":
        # A reloaded re-entry page or a bookmark: nothing is downloaded, back to the batch.
        return redirect("documents:batch_detail", pk=job.pk)
    if job.requested_by_id != request.user.pk:
        # Same office, but not the one who asked: the file is theirs alone. Recorded like any refused access.
        audit.record("access.denied", actor=request.user, target=job, office=job.office, details={"why": "not_owner"})
        messages.error(request, "このファイルは依頼したユーザーだけがダウンロードできます。")
        return redirect("documents:batch_detail", pk=job.pk)
    # The file prints every member's password: the same fresh login as printing one card.
    response = _reauth_needed(
        request,
        title="一括発行のダウンロード",
        subject=_batch_subject(job),
        back_url=reverse("documents:batch_detail", args=[job.pk]),
    )
    if response is not None:
        return response
    try:
        stream = services.batch_download(job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("documents:batch_detail", pk=job.pk)
    content_type = "application/zip" if job.file_format == "zip" else "application/pdf"
    # A notice's bundle carries no password, but names and addresses: the same one-time, no-store download.
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{job.download_name}"'
    response["Content-Length"] = str(job.file_size)
    response["Cache-Control"] = "no-store"
    messages.success(request, f"{job.download_name} をダウンロードしました。")
    return _signal_download(request, response)


# --- exports written in the background (documents.exports) ----------------------------------------------


def _get_export_for_user(request, pk) -> ExportJob:
    """Scoped like a batch: another office's export is a 404 (audited); head office's and admins' exports
    (no office) are seen by them only. The file itself is the requester's alone."""
    return get_visible_or_404(request.user, ExportJob.objects.select_related("office", "requested_by"), pk=pk)


def export_detail(request, pk):
    job = _get_export_for_user(request, pk)
    return render(request, "documents/export_detail.html", {"job": job})


def export_progress(request, pk):
    job = _get_export_for_user(request, pk)
    return render(request, "documents/_export_progress.html", {"job": job})


@require_POST
def export_cancel(request, pk):
    job = _get_export_for_user(request, pk)
    if job.requested_by_id != request.user.pk:
        audit.record("access.denied", actor=request.user, target=job, office=job.office, details={"why": "not_owner"})
        messages.error(request, "依頼したユーザーだけが取り消せます。")
    elif exports.export_cancel(job=job, actor=request.user):
        messages.info(request, "ファイルの作成を取り消しました。")
    else:
        messages.warning(request, "すでに終了しているため取り消せません。")
    return redirect("documents:export_detail", pk=job.pk)


@require_POST
@never_cache
def export_download(request, pk):
    """One download, by the requester. The exports carry no password and their streamed form asks for no
    fresh login, so neither does this (see documents.exports)."""
    job = _get_export_for_user(request, pk)
    if job.requested_by_id != request.user.pk:
        audit.record("access.denied", actor=request.user, target=job, office=job.office, details={"why": "not_owner"})
        messages.error(request, "このファイルは依頼したユーザーだけがダウンロードできます。")
        return redirect("documents:export_detail", pk=job.pk)
    try:
        stream = exports.export_download(job=job, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("documents:export_detail", pk=job.pk)
    response = StreamingHttpResponse(stream, content_type=job.content_type)
    response["Content-Disposition"] = f'attachment; filename="{job.download_name}"'
    response["Content-Length"] = str(job.file_size)
    response["Cache-Control"] = "no-store"
    messages.success(request, f"{job.download_name} をダウンロードしました。")
    return _signal_download(request, response)
