from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from documents.exports import export_job_create
from documents.models import ExportJob
from efnet import audit
from efnet.auth_views import reauth_check
from efnet.permissions import require_admin, require_member_editor
from imports import columns, credentials, exports, services
from imports.forms import ConfirmForm, CredentialExportForm, ExportForm, MappingForm, UploadForm
from imports.models import ImportBatch, ImportRow
from members.models import SalesOffice

ROW_FILTERS = {"error": "エラー", "new": "新規", "update": "更新"}


def require_importer(view):
    def wrapper(request, *args, **kwargs):
        if not services.can_import(request.user):
            raise PermissionDenied("import_permission_required")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def _batch(pk) -> ImportBatch:
    return get_object_or_404(ImportBatch.objects.select_related("created_by", "applied_by", "campaign"), pk=pk)


@require_importer
def batch_list(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.batch_upload(
                actor=request.user, uploaded_file=form.cleaned_data["file"], encoding=form.cleaned_data["encoding"]
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect("imports:batch_map", pk=batch.pk)
    batches = ImportBatch.objects.select_related("created_by")[:50]
    return render(request, "imports/batch_list.html", {"form": form, "batches": batches, "export_form": ExportForm()})


@require_importer
def batch_map(request, pk):
    batch = _batch(pk)
    unknown = services.unknown_headers(batch)
    form = MappingForm(request.POST or None, batch=batch, unknown=unknown)
    if request.method == "POST" and form.is_valid():
        try:
            services.batch_map_columns(
                batch=batch, actor=request.user, mapping=form.mapping(), encoding=form.cleaned_data.get("encoding", "")
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("imports:batch_detail", pk=batch.pk)
    known = [
        (h, columns.BY_KEY[f].header if f else "（取り込まない）") for h, f in batch.mapping.items() if h not in unknown
    ]
    return render(request, "imports/batch_map.html", {"batch": batch, "form": form, "known": known})


@require_importer
def batch_detail(request, pk):
    batch = _batch(pk)
    shown = request.GET.get("show", "error" if batch.error_count else "update")
    shown = shown if shown in ROW_FILTERS else "error"
    rows = batch.rows.filter(action=shown).order_by("row_number", "id")
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    offices = dict(SalesOffice.objects.values_list("id", "name"))
    for row in page.object_list:
        # What a new row brings, as the office reads it: the office by name (the row keeps its id).
        row.shown_values = [offices.get(v, v) if k == "office" else v for k, v in row.values.items() if v]
    refused = batch.rows.filter(state=ImportRow.State.REFUSED).order_by("row_number")[:100]
    context = {
        "batch": batch,
        "page": page,
        "shown": shown,
        "filters": ROW_FILTERS,
        "refused": refused,
        "confirm_form": ConfirmForm(),
        "can_undo": services.can_undo(batch),
        "kinds": [(k, label, batch.counts.get(k, {})) for k, label in ImportRow.Kind.choices],
    }
    return render(request, "imports/batch_detail.html", context)


@require_importer
def batch_progress(request, pk):
    batch = _batch(pk)
    response = render(request, "imports/_progress.html", {"batch": batch})
    if request.GET.get("polling") and not batch.is_active:
        response["HX-Refresh"] = "true"  # the step ended: reload the page to show its result
    return response


@require_importer
def batch_errors(request, pk):
    batch = _batch(pk)
    audit.record("import.errors_downloaded", actor=request.user, target=batch, details={"rows": batch.error_count})
    response = StreamingHttpResponse(exports.error_rows_csv(batch), content_type="text/csv; charset=Shift_JIS")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    return response


@require_POST
@require_importer
def batch_confirm(request, pk):
    batch = _batch(pk)
    form = ConfirmForm(request.POST)
    form.is_valid()
    try:
        services.batch_confirm(batch=batch, actor=request.user, skip_errors=form.cleaned_data.get("skip_errors", False))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "取込を開始しました。")
    return redirect("imports:batch_detail", pk=batch.pk)


@require_POST
@require_importer
def batch_cancel(request, pk):
    batch = _batch(pk)
    if services.batch_cancel(batch=batch, actor=request.user):
        messages.info(request, "取込を中止しました（実行中のときは、いまの区切りが終わってから止まります）。")
    else:
        messages.error(request, "この取込は中止できません。")
    return redirect("imports:batch_detail", pk=batch.pk)


@require_POST
@require_importer
def batch_undo(request, pk):
    batch = _batch(pk)
    try:
        counts = services.batch_undo(batch=batch, actor=request.user)
    except services.UndoBlocked as exc:
        messages.error(request, exc.messages[0] + " " + " / ".join(exc.blockers))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"取込を取り消しました（会員 {counts['members']}名、追加メールアドレス {counts['addresses']}件、"
            f"状態 {counts['statuses']}件）。",
        )
    return redirect("imports:batch_detail", pk=batch.pk)


@require_member_editor
def export_members(request):
    form = ExportForm(request.GET)
    encoding = form.cleaned_data["encoding"] if form.is_valid() else "cp932"
    params = {"encoding": encoding}
    export = exports.members_file(user=request.user, params=params)
    event = {"details": {"encoding": encoding, "rows": export.rows}}
    if export.background:
        # Beyond EXPORT_BACKGROUND_ROWS rows a worker writes the same file (documents.exports).
        job = export_job_create(
            actor=request.user,
            source=ExportJob.Source.MEMBERS,
            fmt="csv",
            params=params,
            export=export,
            audit_action="import.members_exported",
            audit_event=event,
        )
        messages.info(request, f"{export.rows:,}行あるため、ファイルをバックグラウンドで作成します。")
        return redirect("documents:export_detail", pk=job.pk)
    audit.record("import.members_exported", actor=request.user, **event)
    response = StreamingHttpResponse(export.produce(None), content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.name}"'
    return response


@never_cache
@require_admin
@sensitive_post_parameters("password", "file_password", "file_password_again")
def export_credentials(request):
    """Re-authentication first (the login password), then the reason and the file's password; the file's
    password is never carried through the re-authentication page."""
    reauth_form, locked = reauth_check(request)
    if locked is not None:
        return locked
    if reauth_form is not None:
        response = render(
            request,
            "documents/reauth.html",
            {
                "title": "資格情報の出力",
                "subject": "パスワードを含む会員一覧（暗号化Excel）",
                "back_url": reverse("imports:batch_list"),
                "reauth_form": reauth_form,
                "carried": {},
                "action": request.path,
            },
        )
        response["Cache-Control"] = "no-store"
        return response
    form = CredentialExportForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        data = credentials.credential_export(
            actor=request.user, reason=form.cleaned_data["reason"], file_password=form.cleaned_data["file_password"]
        )
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = 'attachment; filename="efnet-credentials.xlsx"'
        response["Cache-Control"] = "no-store"
        return response
    response = render(request, "imports/credential_export.html", {"form": form})
    response["Cache-Control"] = "no-store"
    return response
