from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_GET

from efnet import audit, audit_labels, formats
from efnet.csvfiles import stream_csv
from efnet.formfields import MemberNumberField
from efnet.ids import page_number
from efnet.middleware import public
from efnet.models import AuditEvent, User
from efnet.permissions import require_head_office
from members.models import Member, SalesOffice


def permission_denied(request, exception):
    """The 403 page, after writing who was refused what and why (``access.denied``): the role checks in
    efnet.permissions, the services and the admin all raise PermissionDenied, so this sees every refusal."""
    audit.record(
        "access.denied",
        actor=request.user,
        details={
            "path": request.path,
            "method": request.method,
            "status": 403,
            "why": str(exception) or "permission_denied",
        },
    )
    return defaults.permission_denied(request, exception)


def home(request):
    return redirect("members:search")


@public
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon base.html names."""
    return redirect(static("favicon.svg"), permanent=True)


@public
@require_GET
def healthz(request):
    """For the load balancer and monitoring: 200 when every check passes, 503 otherwise (efnet.health)."""
    from efnet import health

    healthy, body = health.report()
    return JsonResponse(body, status=200 if healthy else 503, json_dumps_params={"ensure_ascii": False})


AUDIT_EXPORT_ENCODINGS = {
    "csv": ("cp932", "text/csv; charset=Shift_JIS"),
    "csv-utf8": ("utf-8-sig", "text/csv; charset=utf-8"),
}
AUDIT_CSV_HEADERS = [
    "日時",
    "種類",
    "操作",
    "操作者",
    "操作者の営業所",
    "対象",
    "対象の営業所",
    "会員番号",
    "IPアドレス",
    "詳細",
]


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name}（{obj.username}）" if obj.display_name else obj.username


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(label="種類", required=False, choices=[("", "すべて"), *audit_labels.CATEGORIES.items()])
    action = forms.ChoiceField(
        label="操作",
        required=False,
        choices=[("", "すべて"), *audit_labels.event_choices()],
    )
    actor = StaffChoiceField(
        label="操作者", queryset=User.objects.order_by("username"), required=False, empty_label="すべて"
    )
    office = forms.ModelChoiceField(
        label="営業所", queryset=SalesOffice.objects.all(), required=False, empty_label="すべて"
    )
    member = MemberNumberField(label="会員番号", required=False)
    since = forms.DateField(label="開始日", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="終了日", required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _audit_events(form):
    """The events the filter form selects (all of them when it is empty or invalid), newest first.

    Head office and admins only (the views' decorator): the log is not scoped by office, as before."""
    events = AuditEvent.objects.select_related("actor", "office", "actor_office")
    if not form.is_valid():
        return events
    data = form.cleaned_data
    if data["kind"]:
        events = events.filter(action__startswith=data["kind"] + ".")
    if data["action"]:
        events = events.filter(action=data["action"])
    if data["actor"]:
        events = events.filter(actor=data["actor"])
    if data["office"]:
        events = events.filter(office=data["office"])
    if data["member"]:
        member = Member.objects.filter(number=data["member"]).first()
        events = events.filter(member_id=member.pk if member else -1)
    if data["since"]:
        events = events.filter(created_at__date__gte=data["since"])
    if data["until"]:
        events = events.filter(created_at__date__lte=data["until"])
    return events


def _with_labels(events) -> list:
    """The events with their description, kind, details as 「項目: 値」 and member number attached."""
    events = list(events)
    numbers = dict(
        Member.objects.filter(pk__in={e.member_id for e in events if e.member_id}).values_list("pk", "number")
    )
    for e in events:
        e.description = audit_labels.describe(e.action)
        e.kind = audit_labels.category_of(e.action)
        e.detail_pairs = list(audit_labels.detail_pairs(e.details, e.action))
        e.member_number = numbers.get(e.member_id, "")
    return events


@require_head_office
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    page = Paginator(_audit_events(form), 100).get_page(page_number(request))
    page.object_list = _with_labels(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "efnet/audit_log.html", {"form": form, "page": page, "querystring": params.urlencode()})


def _filters_for_audit(form) -> dict:
    if not form.is_valid():
        return {}
    shown = {}
    for name, value in form.cleaned_data.items():
        if value in (None, ""):
            continue
        field = form.fields[name]
        if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
            value = dict(field.choices).get(value, value)
        shown[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return shown


@require_head_office
@require_GET
def audit_log_export(request, fmt):
    """The filtered log as CSV for head office, streamed in chunks; the export is itself audited (with its
    filters and row count) before the first byte goes out."""
    if fmt not in AUDIT_EXPORT_ENCODINGS:
        return HttpResponseBadRequest("形式が正しくありません。")
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # Not the whole log because of a mistyped filter.
        return HttpResponseBadRequest("絞り込みの条件が正しくありません。")
    events = _audit_events(form)
    audit.record(
        "audit.exported",
        actor=request.user,
        details={"format": fmt, "rows": events.count(), "filters": _filters_for_audit(form)},
    )
    encoding, content_type = AUDIT_EXPORT_ENCODINGS[fmt]
    response = StreamingHttpResponse(
        stream_csv(_audit_csv_rows(events), headers=AUDIT_CSV_HEADERS, encoding=encoding), content_type=content_type
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _audit_csv_rows(events, chunk: int = 2000):
    batch = []
    for event in events.iterator(chunk_size=chunk):
        batch.append(event)
        if len(batch) == chunk:
            yield from _audit_csv_lines(batch)
            batch = []
    yield from _audit_csv_lines(batch)


def _audit_csv_lines(events):
    for e in _with_labels(events):
        yield [
            formats.csv_datetime(e.created_at),
            e.kind,
            e.description,
            e.actor_name,
            e.actor_office.name if e.actor_office else ("本社" if e.actor_name else ""),
            e.target_repr,
            e.office.name if e.office else "",
            e.member_number,
            e.ip or "",
            " / ".join(f"{label}: {value}" for label, value in e.detail_pairs),
        ]
