"""One member's notice as an email (text and HTML) and the headers that make each message traceable."""

from __future__ import annotations

from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from efnet.text import render_text
from members.models import Member
from notices import rendering
from notices.models import Channel, Notice
from notices.selectors import member_context

ISSUER = ["株式会社エッサム", "EF ネット事務局"]


def subject_for(notice: Notice) -> str:
    return f"{notice.edition_label}{notice.title}"


def render_for(
    *, notice: Notice, member: Member, phone_table: str | None = None, facts=None, channel: str | None = None
) -> dict:
    """Everything the email, the preview and the print page show for one member (``channel``: how this copy
    goes out; the body may say 本紙 or 本メール)."""
    context = member_context(notice=notice, member=member, phone_table=phone_table, facts=facts, channel=channel)
    body = rendering.render(notice.body, context)
    return {
        "notice": notice,
        "member": member,
        "addressee": context["宛名"],
        "subject": subject_for(notice),
        "date_line": notice.date_line,
        "issuer": ISSUER,
        "body": body,
        "paragraphs": [p for p in body.split("\n\n") if p.strip()],
        "complete": context["完了"],
        "self_report_url": context["本人報告URL"],
    }


def render_bodies(*, notice: Notice, member: Member, phone_table: str | None = None, facts=None):
    """(parts, text body, HTML body) of one member's email."""
    parts = render_for(notice=notice, member=member, phone_table=phone_table, facts=facts, channel=Channel.EMAIL)
    text = render_text("emails/notice-body-text.txt", parts)
    html = render_to_string("emails/notice-body-html.html", parts)
    return parts, text, html


def message_domain() -> str:
    return settings.NOTICES_MESSAGE_ID_DOMAIN


def new_message_id() -> str:
    return make_msgid(domain=message_domain())


def build_message(
    *,
    notice: Notice,
    member: Member,
    to: str,
    message_id: str,
    delivery_id: int | None = None,
    connection=None,
    phone_table: str | None = None,
    facts=None,
) -> EmailMultiAlternatives:
    parts, text, html = render_bodies(notice=notice, member=member, phone_table=phone_table, facts=facts)
    headers = {"Message-ID": message_id}
    if delivery_id is not None:
        # Lets the mail log (and the tests' SMTP server) tie a message to its delivery row.
        headers["X-EFnet-Delivery"] = str(delivery_id)
    message = EmailMultiAlternatives(
        subject=parts["subject"],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.EFNET_REPLY_TO],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def approval_request_messages(*, notice: Notice, recipients) -> list[EmailMessage]:
    """One plain-text message per admin who may approve ``notice``, with its link (staff mail: no HTML part)."""
    context = {
        "notice": notice,
        "url": settings.NOTICES_BASE_URL.rstrip("/") + reverse("notices:detail", args=[notice.pk]),
    }
    subject = " ".join(render_text("emails/approval-request-subject.txt", context).split())  # one header line
    body = render_text("emails/approval-request-body-text.txt", context)
    connection = get_connection()
    return [
        EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
            headers={"Message-ID": new_message_id()},  # our domain, as the notices' own messages
            connection=connection,
        )
        for user in recipients
    ]
