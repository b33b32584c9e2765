"""Shared pieces for the notice tests: a real SMTP server on loopback (aiosmtpd), a campaign with enrolled
members, and a helper to take a notice from draft to approved."""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import socket
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from notices import services
from notices.models import Notice
from tracking.models import AccountStatus, Campaign, Status
from tracking.services import accounts_enroll


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingHandler:
    """Keeps every accepted message; ``replies`` maps a recipient to the SMTP reply to give instead."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.replies: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def per_recipient(self) -> Counter:
        return Counter(str(m["To"]) for m in self.messages)


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


class StallingHandler(RecordingHandler):
    """Holds the DATA reply of the ``stall_at``-th message until released: the worker is then mid-send."""

    def __init__(self, stall_at: int | None = None):
        super().__init__()
        self.stall_at = stall_at
        self.data_seen = 0
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.data_seen += 1
        if self.data_seen == self.stall_at:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def stalling_smtp():
    handler = StallingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        handler.release.set()
        controller.stop()


@pytest.fixture
def smtp_settings(smtp_server):
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_server.port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=10,
        NOTICES_RATE_PER_SECOND=0,
    ):
        yield smtp_server.handler


@pytest.fixture
def campaign(db):
    return Campaign.objects.create(name="2026年6月 BIGLOBEパスワード変更", started_on=datetime.date(2026, 6, 1))


def enroll(*members):
    for m in members:
        accounts_enroll(member=m)


def complete(member, campaign):
    AccountStatus.objects.filter(member=member, campaign=campaign).update(status=Status.DONE)


BODY = (
    "{{ 会社名 }} 様（{{ 会員番号 }}）\n"
    "{% if 完了 %}お詫び: すでにお手続きを完了されているお客様には、重ねてのご案内となります。"
    "{% else %}お願い: お早めにお手続きをお願い申し上げます。\n{{ 未完了アカウント }}{% endif %}\n"
    "お問い合わせ: {{ 営業所名 }} {{ 営業所電話 }}\n"
)


def make_notice(*, campaign, author, **fields) -> Notice:
    data = {
        "campaign": campaign,
        "edition": 2,
        "title": "【重要】BIGLOBE パスワード変更のお願い",
        "date": datetime.date(2026, 6, 25),
        "body": BODY,
        "audience_status": Notice.AudienceStatus.ANY,
    }
    data.update(fields)
    return services.notice_create(actor=author, **data)


def post_confirmed(client, url_name: str, notice: Notice):
    """The second step of 承認する / 送信を開始 / 送付済みにする: the confirmation page's form, as it posts."""
    from django.urls import reverse

    notice.refresh_from_db()
    return client.post(
        reverse(url_name, args=[notice.pk]), {"confirmed": "1", "version": notice.updated_at.isoformat()}
    )


def approved_notice(world, campaign, **fields) -> Notice:
    notice = make_notice(campaign=campaign, author=world.admin, **fields)
    services.notice_approve(notice=notice, actor=world.admin2)
    notice.refresh_from_db()
    return notice
