"""FAX返信の取り込み: upload the fax server's file, watch it being read, and confirm each page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from efnet.permissions import require_member_editor
from efnet.scoping import get_visible_or_404, visible_to
from faxreplies import services
from faxreplies.forms import InMemoryUploadHandler, MatchForm, UploadForm
from faxreplies.models import FaxImport, FaxPage


def _get_import_for_user(request, pk) -> FaxImport:
    return get_visible_or_404(request.user, FaxImport.objects.select_related("uploaded_by"), pk=pk)


def _get_page_for_user(request, pk, *, for_action: bool) -> FaxPage:
    """A page of an import the user may see. Its image may also be seen by whoever may see its member (the
    member's timeline links to it); acting on a page needs the import's scope. Others get a 404, audited."""
    queryset = FaxPage.objects.select_related("fax_import", "member__office", "campaign")
    visible = visible_to(request.user, queryset, "fax_import__office")
    if not for_action:
        visible = visible | visible_to(request.user, queryset, "member__office")
    page = visible.filter(pk=pk).first()
    if page is None:
        get_visible_or_404(request.user, queryset, "fax_import__office", pk=pk)  # raises 404, audits a stranger
    return page


def _error(exc) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else (str(exc) or "この操作はできません。")


@csrf_exempt
@require_member_editor
def import_list(request):
    # The upload handlers must be set before the body is read, i.e. before the CSRF check reads it.
    request.upload_handlers = [InMemoryUploadHandler(request)]
    return _import_list(request)


@csrf_protect
def _import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.fax_import_create(actor=request.user, data=upload.read(), original_name=upload.name)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error("file", _error(exc))
        else:
            messages.success(request, f"{job.total_pages}ページの読み取りを始めました。")
            return redirect("faxreplies:import_detail", pk=job.pk)
    elif request.method == "POST" and "file" not in request.FILES:
        form.add_error("file", f"ファイルを選んでください（{services.settings.FAXREPLIES_MAX_UPLOAD_MB} MBまで）。")
    imports = visible_to(request.user, FaxImport.objects.select_related("uploaded_by"))[:50]
    return render(request, "faxreplies/list.html", {"form": form, "imports": imports})


def _page_rows(job: FaxImport) -> list[dict]:
    rows = []
    for page in job.pages.select_related("member__office", "campaign"):
        rows.append(
            {
                "page": page,
                "accounts": services.open_accounts(page=page) if page.state == FaxPage.State.OPEN else [],
                "match_form": MatchForm(prefix=f"p{page.pk}"),
            }
        )
    return rows


@require_member_editor
@never_cache
def import_detail(request, pk):
    job = _get_import_for_user(request, pk)
    rows = _page_rows(job) if not job.is_active else []
    counts = {
        "open": sum(1 for r in rows if r["page"].state == FaxPage.State.OPEN),
        "unmatched": sum(1 for r in rows if r["page"].state == FaxPage.State.OPEN and r["page"].member_id is None),
    }
    return render(request, "faxreplies/detail.html", {"job": job, "rows": rows, "counts": counts})


@require_member_editor
@never_cache
def import_progress(request, pk):
    job = _get_import_for_user(request, pk)
    response = render(request, "faxreplies/_progress.html", {"job": job})
    if not job.is_active:
        # Reading finished: htmx reloads the page so the pages and their forms appear.
        response["HX-Refresh"] = "true"
    return response


@require_member_editor
@never_cache
def page_image(request, pk):
    page = _get_page_for_user(request, pk, for_action=False)
    try:
        data = services.page_image(page=page)
    except ValidationError as exc:
        return HttpResponse(_error(exc), status=410, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = f'inline; filename="fax-{page.fax_import_id}-{page.number}.png"'
    return response


def _back(page: FaxPage):
    return redirect(reverse("faxreplies:import_detail", args=[page.fax_import_id]) + f"#page-{page.number}")


@require_POST
@require_member_editor
def page_confirm(request, pk):
    page = _get_page_for_user(request, pk, for_action=True)
    try:
        ids = [int(v) for v in request.POST.getlist("account")]
    except ValueError:
        ids = None
    try:
        if ids is None:
            raise ValidationError("アカウントの指定が正しくありません。")
        count = services.fax_page_confirm(page=page, account_ids=ids, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"{page.number}ページ: {_error(exc)}")
    else:
        messages.success(request, f"{page.number}ページ: {page.member.number} の {count} アカウントを完了にしました。")
    return _back(page)


@require_POST
@require_member_editor
def page_match(request, pk):
    page = _get_page_for_user(request, pk, for_action=True)
    form = MatchForm(request.POST, prefix=f"p{page.pk}")
    try:
        if not form.is_valid():
            raise ValidationError("会員番号を入力してください。")
        services.fax_page_match(page=page, number=form.cleaned_data["number"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, f"{page.number}ページ: {_error(exc)}")
    return _back(page)


@require_POST
@require_member_editor
def page_dismiss(request, pk):
    page = _get_page_for_user(request, pk, for_action=True)
    try:
        services.fax_page_dismiss(page=page, actor=request.user)
    except ValidationError as exc:
        messages.error(request, f"{page.number}ページ: {_error(exc)}")
    return _back(page)
