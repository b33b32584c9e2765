"""User-written text never reaches HTML unescaped, on any page any persona can reach.

Every free-text field a staff user (or an import, or a mail server's reply) can fill gets a payload: an htmx
element that would POST with the viewer's CSRF token, a script, an attribute break-out and template syntax.
Then every GET URL of the access matrix (tests/url_specs/) is rendered for every persona, for office A's and
office B's objects, with the payload also in the query string, and no HTML answer may carry a payload raw.
Each field must also be seen, escaped, on at least one page, so the sweep cannot pass by showing nothing.

A view added later is covered through its spec (test_url_matrix fails without one)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from efnet import audit
from tests.conftest import login
from tests.url_specs import all_specs

# Raw forms that can only come from user text printed without escaping (the templates never contain them).
RAW_MARKERS = ["<b id=", "<script>alert", '"onmouseover=', "<b hx"]
SPECS = all_specs()


def payload(field_id: str, max_length: int | None = None) -> str:
    """The payload for one field, as long as the column allows; it starts with an id that names the field."""
    full = (
        f'<b id={field_id} hx-post="../approve/" hx-trigger="load">確認中</b><script>alert(1)</script>'
        '"onmouseover="alert(1)" {{ settings.SECRET_KEY }} {% debug %}'
    )
    if max_length is None or len(full) <= max_length:
        return full
    short = f'<b id={field_id} hx-post="../approve/" hx-trigger=load>'
    return short if len(short) <= max_length else f"<b id={field_id}>"[:max_length]


def _column_length(model, field_name):
    return model._meta.get_field(field_name).max_length


class Payloads:
    """Writes a payload into every free-text field and remembers which field got which id."""

    def __init__(self):
        self.fields: dict[str, str] = {}  # field id -> description

    def put(self, obj, field_name: str, field_id: str, *, save=True):
        value = payload(field_id, _column_length(type(obj), field_name))
        setattr(obj, field_name, value)
        self.fields[field_id] = f"{type(obj).__name__}.{field_name}"
        if save:
            obj.save()
        return value

    def missing_in(self, seen: str) -> list[str]:
        return [desc for fid, desc in self.fields.items() if escape(f"<b id={fid}") not in seen]


@pytest.fixture
def hostile_world(world):
    """The matrix's world with a payload in every free-text field staff, members' data or mail servers fill."""
    from documents.models import BatchJob
    from notices.models import Delivery, Notice
    from tracking.models import AccountStatus, Campaign
    from tracking.services import accounts_enroll, status_record

    p = Payloads()
    for tag, member in (("a", world.member_a), ("b", world.member_b)):
        for name in ("name", "name_kana", "address", "phone", "fax", "biglobe_user_id", "pop3_server", "note"):
            p.put(member, name, f"m{tag}_{name}", save=False)
        member.email = f'"<b id=m{tag}_email>"@example.jp'
        p.fields[f"m{tag}_email"] = "Member.email"
        member.save()
    for tag, address in (("a", world.address_a), ("b", world.address_b)):
        for name in ("login_id", "pop3_server", "smtp_server"):
            p.put(address, name, f"ad{tag}_{name}", save=False)
        address.address = f'"<b id=ad{tag}_address>"@example.jp'
        p.fields[f"ad{tag}_address"] = "AdditionalMailAddress.address"
        address.save()
    p.put(world.office_a, "name", "office_name")
    p.put(world.clerk_a, "display_name", "user_display")

    # The matrix's notice and campaign, created here first so every spec finds the hostile ones.
    campaign = Campaign.objects.create(name=payload("campaign", 100), started_on=datetime.date(2026, 6, 1))
    p.fields["campaign"] = "Campaign.name"
    notice = Notice.objects.create(
        campaign=campaign,
        edition=2,
        title=payload("notice_title", 200),
        date=datetime.date(2026, 6, 25),
        # The notice language refuses {{ }} and {% %} outside its own fields, so the body carries the rest.
        body='<b id=notice_body hx-post="../approve/" hx-trigger="load">本文</b>"onmouseover="x"\n{{ 会社名 }} 様',
        author=world.admin,
    )
    p.fields["notice_title"] = "Notice.title"
    p.fields["notice_body"] = "Notice.body"
    world.extra["notice"] = notice
    for tag, member in (("a", world.member_a), ("b", world.member_b)):
        Delivery.objects.create(
            notice=notice, member=member, channel="email", status="failed", last_error=payload(f"dl{tag}", 500)
        )
        p.fields[f"dl{tag}"] = "Delivery.last_error"

    # Status notes through the service (history, timeline and audit details), in the matrix's campaign too.
    from tests.url_specs.tracking import _campaign

    for c in (campaign, _campaign()):
        for tag, member in (("a", world.member_a), ("b", world.member_b)):
            accounts_enroll(member=member)
            account = AccountStatus.objects.get(campaign=c, member=member, address=None)
            status_record(
                account_status=account,
                status="完了",
                actor=world.clerk_a,
                source="電話",
                status_on=datetime.date(2026, 6, 26),
                note=payload(f"note{tag}", 500),
            )
            p.fields[f"note{tag}"] = "AccountStatus.note"

    for tag, (office, user) in (("a", (world.office_a, world.clerk_a)), ("b", (world.office_b, world.clerk_b))):
        world.extra.setdefault("batches", []).append(
            BatchJob.objects.create(
                requested_by=user,
                office=office,
                reason="紛失再発行",
                member_ids=[],
                total=0,
                status="failed",
                error=payload(f"batch{tag}", 500),
            )
        )
        p.fields[f"batch{tag}"] = "BatchJob.error"
    audit.record("member.updated", actor=world.clerk_a, member=world.member_a, details={"memo": payload("audit")})
    p.fields["audit"] = "AuditEvent.details"
    return world, p


QUERY_PAYLOAD = payload("query")


def _get_pages(client, world, persona):
    """(url, response) of every GET page the persona can reach, own and other office, with the payload in the
    query string too; plus the notice preview of each member, the failed batches and the two reveal fragments."""
    for name, spec in sorted(SPECS.items()):
        if spec.method != "GET":
            continue
        for own in (True, False):
            kwargs = spec.kwargs(world, own) if spec.kwargs else {}
            url = reverse(name, kwargs=kwargs)
            for query in ({}, {"q": QUERY_PAYLOAD, "number": QUERY_PAYLOAD, "name": QUERY_PAYLOAD}):
                yield url, client.get(url, query)
    notice = world.extra["notice"]
    preview = reverse("notices:preview", kwargs={"pk": notice.pk})
    for member in (world.member_a, world.member_b):
        yield preview, client.get(preview, {"number": member.number})
        yield preview, client.get(preview, {"member": member.pk, "as": "html"})
    for job in world.extra["batches"]:
        url = reverse("documents:batch_detail", kwargs={"pk": job.pk})
        yield url, client.get(url)
    for name, kwargs in (
        ("members:reveal", {"pk": world.member_a.pk}),
        ("members:mailaddresses:reveal", {"member_pk": world.member_a.pk, "pk": world.address_a.pk}),
    ):
        url = reverse(name, kwargs=kwargs)
        yield url, client.post(url)


def _html(response) -> str | None:
    if not response.get("Content-Type", "").startswith("text/html"):
        return None
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def test_no_page_prints_user_text_unescaped(client, hostile_world):
    world, payloads = hostile_world
    seen = []
    # Admins first: the refusals the others provoke are audited and would push the hostile event off page 1.
    for persona in ("admin", "head", "clerk_a", "reader_a"):
        login(client, world.persona(persona))
        for url, response in _get_pages(client, world, persona):
            html = _html(response)
            if html is None:
                continue
            where = f"{url} ({persona}, {response.status_code})"
            for marker in RAW_MARKERS:
                assert marker not in html, f"{where} prints {marker!r} unescaped"
            assert settings.SECRET_KEY not in html, f"{where} evaluated template syntax from user text"
            assert not re.search(r"<[^>]*\bhx-(post|get|put|delete|patch)=\"?\.\./", html), where
            seen.append(html)
    # Every payload must have been shown somewhere, escaped: a sweep that shows nothing checks nothing.
    missing = payloads.missing_in("".join(seen))
    assert not missing, f"never shown, so never checked: {missing}"


def test_the_text_part_of_a_notice_is_plain_text_not_marked_safe(hostile_world):
    """The root cause of the preview finding: the text part came out of an autoescape-off template as a
    SafeString, which HTML templates then trusted."""
    from django.utils.safestring import SafeData

    from notices.emails import render_bodies

    world, _ = hostile_world
    _, text, html = render_bodies(notice=world.extra["notice"], member=world.member_a)
    assert not isinstance(text, SafeData)
    assert "<b id=ma_name" in text  # the text part itself is the member's name as written
    assert "<b id=ma_name" not in html and escape("<b id=ma_name") in html
