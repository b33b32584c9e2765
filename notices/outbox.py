"""The outbox: the database rows are the truth, the Celery queue only says "look at these ids".

A delivery is sent at most once because a worker must win a conditional UPDATE (queued → sending, committed
before the SMTP conversation starts) to send it. A worker that dies after winning leaves the row in
``sending``; ``reap_stale`` turns such rows into ``unknown`` for an admin to decide. Nothing here re-sends a
row that may have gone out.

Marking rows sent is done in small groups (``SentMarks``): a message that went out stays ``sending`` for at
most a fraction of a second, and a worker killed in that window leaves it ``unknown``, as for any send in
flight. Grouping saves two commits and a handful of statements per message. A group is kept until it is
recorded, and the outbox's writes survive a dropped database connection (``efnet.db.retry_if_locked``), so
``unknown`` means only "the process died during the SMTP conversation".

Only a reply about a message counts as an attempt. A mail server that cannot be reached is an outage: the
connection is opened before any row is claimed, and the notice waits (``smtp_waiting_since``) with its rows
queued and uncharged until the periodic re-dispatch finds the server again.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from efnet import audit
from efnet.db import retry_if_locked
from notices.emails import build_message, new_message_id
from notices.models import Channel, Delivery, Notice
from notices.selectors import member_facts, office_phone_table

log = logging.getLogger(__name__)

UNKNOWN_ERROR = "送信中に処理が中断しました。届いたかどうかは不明です。"


class Pacer:
    """The rate limit: at most ``per_second`` messages a second from this worker process (0: no limit)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def classify(exc: BaseException) -> tuple[bool, str]:
    """(permanent?, error text). 5xx replies and malformed addresses are permanent; 4xx replies, dropped
    connections and network errors are transient."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        text = "; ".join(f"{code} {_text(msg)}" for code, msg in replies)
        return all(code >= 500 for code, _ in replies), text
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500, f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, ValueError):  # Django refuses an address it cannot encode
        return True, f"宛先が不正です: {exc}"
    return False, f"{type(exc).__name__}: {exc}"


def is_reply(exc: BaseException) -> bool:
    """An answer about the message (a 4xx/5xx reply to MAIL, RCPT or DATA, or an address Django refused):
    only these count as attempts. A refused or dropped connection says nothing about the message."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return False
    return isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException | ValueError)


def backoff_seconds(attempts: int) -> int:
    return min(settings.NOTICES_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), 3600)


def claim(delivery_id: int) -> str | None:
    """Win the row (queued → sending) or return None. A single-table conditional UPDATE: of two workers,
    the database lets exactly one change the row; the other sees it no longer queued."""
    now = timezone.now()
    message_id = new_message_id()
    tries = 0

    def attempt() -> int:
        nonlocal tries
        tries += 1
        if tries > 1 and Delivery.objects.filter(pk=delivery_id, message_id=message_id).exists():
            # The connection dropped after an earlier try committed: the row is ours (the Message-ID is new).
            return 1
        return (
            Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.QUEUED, channel=Channel.EMAIL)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, message_id=message_id)
        )

    return message_id if retry_if_locked(attempt) else None


def mark_sent_many(deliveries: list[Delivery]) -> list[Delivery]:
    """Record sends (each delivery's ``sent_at`` set by the caller, or now) in one transaction with their
    audit events; then, apart, mark the members' pending accounts 案内済. Returns the rows it marked.

    A transaction the database refused as locked did not happen, and is tried again; so is one whose
    connection dropped (on a new connection; if it had committed, the rows are no longer ``sending`` and the
    second try records nothing twice). These messages went out: leaving their rows in ``sending`` would turn
    them ``unknown``, and an admin who sends the unknown ones again would send duplicates."""
    now = timezone.now()
    for d in deliveries:
        d.sent_at = d.sent_at or now
    return retry_if_locked(lambda: _mark_sent_many(deliveries))


def _mark_sent_many(deliveries: list[Delivery]) -> list[Delivery]:
    by_pk = {d.pk: d for d in deliveries}
    with transaction.atomic():
        # A row the reaper already called unknown (a very slow send) is now known: it was sent.
        marked = list(
            Delivery.objects.select_for_update()
            .filter(pk__in=by_pk, status__in=[Delivery.Status.SENDING, Delivery.Status.UNKNOWN])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not marked:
            return []
        Delivery.objects.filter(pk__in=marked).update(
            status=Delivery.Status.SENT,
            last_error="",
            sent_at=Case(*[When(pk=pk, then=Value(by_pk[pk].sent_at)) for pk in marked], output_field=DateTimeField()),
        )
        done = [by_pk[pk] for pk in marked]
        audit.record_many(
            [
                audit.event(
                    "notice.delivery.sent",
                    target=d,
                    member=d.member,
                    details={"notice": d.notice_id, "channel": "email", "message_id": d.message_id},
                )
                for d in done
            ]
        )
        at = max(d.sent_at for d in done)
        transaction.on_commit(lambda: update_tracking_many(done, at=at))
    return done


def update_tracking(delivery: Delivery, *, at, actor=None) -> bool:
    """Mark the member's pending accounts 案内済. Kept apart from recording the send: a failure here must
    never turn a sent message back into one that could be sent again; the periodic run retries it."""
    return update_tracking_many([delivery], at=at, actor=actor)


def update_tracking_many(deliveries: list[Delivery], *, at, actor=None) -> bool:
    """``update_tracking`` for a group of deliveries sent together (``at``: when the group went out)."""
    from tracking.services import accounts_mark_notified_many

    try:
        with transaction.atomic():
            for group in _by_campaign(deliveries).values():
                accounts_mark_notified_many(
                    members=[d.member for d in group], campaign=group[0].notice.campaign, actor=actor, at=at
                )
            Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(tracking_done=True)
    except Exception:
        log.exception(
            "deliveries %s: marking the members' accounts notified failed; will retry", [d.pk for d in deliveries]
        )
        return False
    return True


def retry_tracking(limit: int = 500) -> int:
    done = 0
    rows = Delivery.objects.filter(status=Delivery.Status.SENT, tracking_done=False).select_related(
        "member", "notice__campaign"
    )
    for delivery in rows[:limit]:
        done += update_tracking(delivery, at=delivery.sent_at or timezone.now())
    return done


def mark_failed(delivery: Delivery, error: str) -> None:
    retry_if_locked(lambda: _mark_failed(delivery, error))


@transaction.atomic
def _mark_failed(delivery: Delivery, error: str) -> None:
    if not Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.FAILED, last_error=error[:500]
    ):
        return  # already recorded (a try whose connection dropped after its commit)
    audit.record(
        "notice.delivery.failed",
        target=delivery,
        member=delivery.member,
        details={"notice": delivery.notice_id, "error": error[:200]},
    )


def mark_retry(delivery: Delivery, error: str) -> int | None:
    """A transient failure: back to the queue after a backoff, or failed after too many attempts.
    Returns the backoff in seconds when it will be retried."""
    row = Delivery.objects.filter(pk=delivery.pk).values_list("attempts", flat=True)
    attempts = retry_if_locked(lambda: row.first()) or 0
    if attempts >= settings.NOTICES_MAX_ATTEMPTS:
        mark_failed(delivery, f"{attempts}回失敗: {error}")
        return None
    wait = backoff_seconds(attempts)
    retry_if_locked(
        lambda: Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.QUEUED,
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
            last_error=error[:500],
            dispatched_at=None,  # the periodic run picks it up once due, should the countdown task be lost
        )
    )
    return wait


class _NoticeGate:
    """Is the notice still sending? Checked before each claim, at most once a second per notice, so a pause
    or cancel stops a running batch promptly without a query per message."""

    def __init__(self):
        self.checked: dict[int, tuple[float, bool]] = {}

    def open(self, notice_id: int) -> bool:
        at, ok = self.checked.get(notice_id, (0.0, False))
        if time.monotonic() - at > 1.0:
            ok = retry_if_locked(lambda: Notice.objects.filter(pk=notice_id, state=Notice.State.SENDING).exists())
            self.checked[notice_id] = (time.monotonic(), ok)
        return ok


class SentMarks:
    """Sends waiting to be marked: flushed every ``every`` messages or ``seconds``, and when the batch ends.
    A group stays here until it is recorded: a flush that fails (the database unreachable for longer than the
    reconnect budget) leaves it for the next flush, the one in ``send_batch``'s ``finally`` at the latest."""

    def __init__(self, every: int = 25, seconds: float = 0.5):
        self.every, self.seconds = every, seconds
        self.rows: list[Delivery] = []
        self.since = time.monotonic()

    def add(self, delivery: Delivery) -> None:
        delivery.sent_at = timezone.now()
        self.rows.append(delivery)
        if len(self.rows) >= self.every or time.monotonic() - self.since >= self.seconds:
            self.flush()

    def flush(self) -> int:
        if not self.rows:
            return 0
        marked = mark_sent_many(self.rows)
        self.rows, self.since = [], time.monotonic()
        return len(marked)


def send_batch(delivery_ids: list[int]) -> dict:
    """Send the given deliveries over one SMTP connection. Safe to run twice, or in two workers at once.

    An error that is not one delivery's SMTP reply (the database, a bug) stops the batch; it is written on
    the notices of the batch for the notice page to show, and passed on to the worker's log."""
    try:
        return _send_batch(delivery_ids)
    except Exception as exc:
        record_worker_error(delivery_ids, exc)
        raise


def record_worker_error(delivery_ids: list[int], exc: BaseException) -> None:
    text = f"{type(exc).__name__}: {exc}"[:500]

    def write() -> None:
        notice_ids = Delivery.objects.filter(pk__in=delivery_ids).values("notice_id")
        Notice.objects.filter(pk__in=notice_ids).update(last_error=text, last_error_at=timezone.now())

    try:
        retry_if_locked(write)
    except Exception:
        log.exception("deliveries %s: could not record the worker's error on their notices", delivery_ids[:10])


class ServerUnreachable(Exception):
    """The mail server could not be reached, or dropped the connection outside any reply about a message."""


def open_connection(notice_ids: set[int]):
    """An SMTP connection, opened (connected, greeted, logged in). Any failure here is the server's, not a
    message's: it raises ``ServerUnreachable``. A notice that was waiting for the server stops waiting."""
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:
        raise ServerUnreachable(f"{type(exc).__name__}: {exc}") from exc
    _no_delay(connection)
    retry_if_locked(
        lambda: Notice.objects.filter(pk__in=notice_ids, smtp_waiting_since__isnull=False).update(
            smtp_waiting_since=None, last_error="", last_error_at=None
        )
    )
    return connection


def wait_for_server(*, notice_ids: set[int], waiting_ids: list[int], error: str) -> None:
    """The server cannot be reached: the notices say since when and why; the deliveries not yet claimed stay
    queued, uncharged, for the periodic re-dispatch (every minute) to try again."""
    now = timezone.now()
    text = f"メールサーバーに接続できません: {error}"[:500]

    def write() -> None:
        with transaction.atomic():
            Notice.objects.filter(pk__in=notice_ids, smtp_waiting_since__isnull=True).update(smtp_waiting_since=now)
            Notice.objects.filter(pk__in=notice_ids).update(last_error=text, last_error_at=now)
            Delivery.objects.filter(pk__in=waiting_ids, status=Delivery.Status.QUEUED).update(dispatched_at=None)

    retry_if_locked(write)
    log.warning("notices %s: mail server unreachable (%s); waiting", sorted(notice_ids), error)


def release(delivery: Delivery, error: str) -> None:
    """Give back a claimed row whose message met no reply from the server (the connection dropped): queued
    again and the attempt not charged, as if it had not been claimed."""
    retry_if_locked(
        lambda: Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.SENDING, message_id=delivery.message_id
        ).update(
            status=Delivery.Status.QUEUED,
            attempts=F("attempts") - 1,
            claimed_at=None,
            dispatched_at=None,
            last_error=error[:500],
        )
    )


def _send_batch(delivery_ids: list[int]) -> dict:
    stats = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0, "waiting": 0}
    retries: list[tuple[int, int]] = []
    pacer = Pacer(settings.NOTICES_RATE_PER_SECOND)
    gate = _NoticeGate()
    rows = {
        d.pk: d
        for d in Delivery.objects.filter(pk__in=delivery_ids).select_related("member__office", "notice__campaign")
    }
    phone_table = office_phone_table()
    facts = batch_facts(list(rows.values()))
    marks = SentMarks()
    notice_ids = {d.notice_id for d in rows.values()}
    connection = None
    try:
        for position, delivery_id in enumerate(delivery_ids):
            delivery = rows.get(delivery_id)
            if delivery is None or not gate.open(delivery.notice_id):
                stats["skipped"] += 1
                continue
            try:
                # Before the claim: a server that cannot be reached costs no delivery an attempt.
                if connection is None:
                    connection = open_connection(notice_ids)
            except ServerUnreachable as exc:
                waiting = delivery_ids[position:]
                wait_for_server(notice_ids=notice_ids, waiting_ids=waiting, error=str(exc))
                stats["waiting"] += len(waiting)
                break
            pacer.wait()
            message_id = claim(delivery_id)
            if message_id is None:
                stats["skipped"] += 1
                continue
            delivery.message_id = message_id
            try:
                message = build_message(
                    notice=delivery.notice,
                    member=delivery.member,
                    to=delivery.member.email,
                    message_id=message_id,
                    delivery_id=delivery.pk,
                    connection=connection,
                    phone_table=phone_table,
                    facts=facts[delivery.notice.campaign_id, delivery.member_id],
                )
                message.send(fail_silently=False)
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                permanent, error = classify(exc)
                if not is_reply(exc):
                    # No answer about this message: the server went away. Not an attempt; the rest waits.
                    _close_quietly(connection)
                    connection = None
                    release(delivery, error)
                    waiting = delivery_ids[position:]
                    wait_for_server(notice_ids=notice_ids, waiting_ids=waiting, error=error)
                    stats["waiting"] += len(waiting)
                    log.info("delivery %s not sent (the server went away)", delivery_id)
                    break
                if permanent:
                    mark_failed(delivery, error)
                    stats["failed"] += 1
                else:
                    # The connection may be broken: drop it, the next message opens a fresh one.
                    if connection is not None:
                        _close_quietly(connection)
                        connection = None
                    wait = mark_retry(delivery, error)
                    if wait is None:
                        stats["failed"] += 1
                    else:
                        retries.append((delivery_id, wait))
                        stats["retry"] += 1
                log.info("delivery %s not sent (%s)", delivery_id, "permanent" if permanent else "transient")
                continue
            marks.add(delivery)
            stats["sent"] += 1
    finally:
        try:
            marks.flush()
        finally:
            if connection is not None:
                _close_quietly(connection)
    _schedule_retries(retries)
    for notice_id in {d.notice_id for d in rows.values()}:
        from notices.services import notice_finish_if_done

        notice_finish_if_done(notice_id=notice_id)
    return stats


def _by_campaign(deliveries: list[Delivery]) -> dict[int, list[Delivery]]:
    groups: dict[int, list[Delivery]] = {}
    for d in deliveries:
        groups.setdefault(d.notice.campaign_id, []).append(d)
    return groups


def batch_facts(deliveries: list[Delivery]) -> dict:
    """The merge-field facts of every member in the batch, keyed by (campaign id, member id)."""
    facts = {}
    for campaign_id, group in _by_campaign(deliveries).items():
        found = member_facts(campaign=group[0].notice.campaign, members=[d.member for d in group])
        facts.update({(campaign_id, member_id): f for member_id, f in found.items()})
    return facts


def _close_quietly(connection) -> None:
    """Close a connection that may already be broken (QUIT on a dead socket raises)."""
    try:
        connection.close()
    except Exception:
        log.info("closing a broken SMTP connection failed", exc_info=True)


def _no_delay(connection) -> None:
    """One command per round trip: without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms to
    each message on a reused connection."""
    sock = getattr(getattr(connection, "connection", None), "sock", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _schedule_retries(retries: list[tuple[int, int]]) -> None:
    from notices.tasks import send_batch as send_batch_task

    for delivery_id, wait in retries:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            continue  # eager mode cannot wait; the periodic re-dispatch picks the row up when it is due
        send_batch_task.apply_async(kwargs={"delivery_ids": [delivery_id]}, countdown=wait)


def dispatch(notice_id: int, *, only_stale: bool = False) -> int:
    """Put the notice's due, queued email deliveries on the queue in batches; returns how many ids.

    ``only_stale`` (the periodic run) skips rows put on the queue recently, so a long queue is not doubled
    every minute; a lost queue (Redis flushed or restarted) is refilled once those rows go stale."""
    if not Notice.objects.filter(pk=notice_id, state=Notice.State.SENDING).exists():
        return 0
    now = timezone.now()
    qs = Delivery.objects.filter(notice_id=notice_id, status=Delivery.Status.QUEUED, channel=Channel.EMAIL).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if only_stale:
        cutoff = now - timedelta(seconds=settings.NOTICES_REDISPATCH_AFTER_SECONDS)
        qs = qs.filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff))
    ids = list(qs.order_by("id").values_list("id", flat=True))
    if not ids:
        from notices.services import notice_finish_if_done

        notice_finish_if_done(notice_id=notice_id)
        return 0
    Delivery.objects.filter(pk__in=ids).update(dispatched_at=now)
    from notices.tasks import send_batch as send_batch_task

    size = max(settings.NOTICES_BATCH_SIZE, 1)
    for start in range(0, len(ids), size):
        send_batch_task.delay(delivery_ids=ids[start : start + size])
    return len(ids)


def reap_stale(*, older_than_seconds: int | None = None) -> int:
    """Rows left in ``sending`` longer than the timeout belong to a worker that died: mark them unknown."""
    seconds = settings.NOTICES_SENDING_TIMEOUT_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=seconds)
    reaped = 0
    for delivery in Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lte=cutoff).select_related(
        "member"
    ):
        with transaction.atomic():
            done = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
                status=Delivery.Status.UNKNOWN, last_error=UNKNOWN_ERROR
            )
            if done:
                reaped += 1
                audit.record(
                    "notice.delivery.unknown",
                    target=delivery,
                    member=delivery.member,
                    details={"notice": delivery.notice_id, "message_id": delivery.message_id},
                )
    return reaped


def redispatch_all() -> int:
    """The periodic task: reap stale rows, then refill the queue for every notice that is sending."""
    reap_stale()
    retry_tracking()
    total = 0
    for notice_id in Notice.objects.filter(state=Notice.State.SENDING).values_list("id", flat=True):
        total += dispatch(notice_id, only_stale=True)
    return total
