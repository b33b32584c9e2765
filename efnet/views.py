from django import forms
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.http import require_GET

from efnet import audit
from efnet.formfields import MemberNumberField
from efnet.ids import page_number
from efnet.middleware import public
from efnet.models import AuditEvent
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


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label="操作", required=False, widget=forms.TextInput(attrs={"placeholder": "例: member.password"})
    )
    actor = forms.CharField(label="操作者", required=False)
    office = forms.ModelChoiceField(
        label="営業所", queryset=SalesOffice.objects.all(), required=False, empty_label="すべて"
    )
    member = MemberNumberField(label="会員番号", required=False)
    since = forms.DateField(label="開始日", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="終了日", required=False, widget=forms.DateInput(attrs={"type": "date"}))


@require_head_office
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.select_related("actor", "office", "actor_office")
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(action__startswith=data["action"].strip())
        if data["actor"]:
            events = events.filter(actor_name__icontains=data["actor"].strip())
        if data["office"]:
            events = events.filter(office=data["office"])
        if data["member"]:
            member = Member.objects.filter(number=data["member"]).first()
            events = events.filter(member_id=member.pk if member else -1)
        if data["since"]:
            events = events.filter(created_at__date__gte=data["since"])
        if data["until"]:
            events = events.filter(created_at__date__lte=data["until"])
    page = Paginator(events, 100).get_page(page_number(request))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "efnet/audit_log.html", {"form": form, "page": page, "querystring": params.urlencode()})
