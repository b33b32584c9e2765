"""Writes to notices: editing, approval (which freezes the audience), sending controls and admin decisions.

The sending itself (claiming and sending deliveries) is in notices.outbox; this module decides what may be
sent, and queues the work after the transaction commits.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone

from efnet import audit
from notices import rendering
from notices.models import Channel, Delivery, Notice, NoticeTemplate
from notices.selectors import audience

EDITABLE_FIELDS = [
    "campaign",
    "edition",
    "title",
    "date",
    "date_style",
    "body",
    "audience_status",
    "audience_office",
    "audience_addresses",
    "audience_edition",
    "audience_edition_rule",
    "audience_channel",
]


def _check_body(body: str) -> None:
    try:
        rendering.parse(body)
    except rendering.NoticeTemplateError as e:
        raise ValidationError({"body": str(e)})


def _dispatch_on_commit(notice_id: int) -> None:
    from notices.tasks import dispatch_notice

    transaction.on_commit(lambda: dispatch_notice.delay(notice_id))


@transaction.atomic
def notice_create(*, actor, **fields) -> Notice:
    notice = Notice(author=actor, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    _check_body(notice.body)
    notice.full_clean()
    notice.save()
    audit.record("notice.created", actor=actor, target=notice, details={"title": notice.title})
    return notice


@transaction.atomic
def notice_copy_template(*, template: NoticeTemplate, campaign, actor, edition: int = 2) -> Notice:
    """A draft from a built-in template (the seed's 第2報), dated today, for the pending members."""
    return notice_create(
        actor=actor,
        campaign=campaign,
        edition=edition,
        title=template.title,
        date=timezone.localdate(),
        body=template.body,
    )


@transaction.atomic
def notice_update(*, notice: Notice, actor, **fields) -> Notice:
    """Edit a draft or an approved notice. An approved one returns to draft: its approval covered the old
    text and audience, so it is withdrawn and the frozen deliveries are dropped (none was sent yet)."""
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if not notice.is_editable:
        raise ValidationError("送信を始めた案内は編集できません。")
    for key, value in fields.items():
        if key in EDITABLE_FIELDS:
            setattr(notice, key, value)
    _check_body(notice.body)
    notice.full_clean()
    was_approved = notice.state == Notice.State.APPROVED
    if was_approved:
        notice.state = Notice.State.DRAFT
        notice.approved_by = None
        notice.approved_at = None
        # The approval covered the old text: the author asks again, and the other admins hear of it again.
        notice.approval_requested_at = None
        notice.approval_mail_sent_at = None
        notice.deliveries.filter(status=Delivery.Status.QUEUED).delete()
    notice.save()
    audit.record("notice.updated", actor=actor, target=notice, details={"approval_withdrawn": was_approved})
    return notice


@transaction.atomic
def notice_request_approval(*, notice: Notice, actor) -> bool:
    """The author asks the other admins to approve a draft: it shows in their menu badge, and they get one
    email with its link (queued after commit). A second request (a double click) changes nothing and returns
    False."""
    if notice.author_id != actor.pk:
        raise PermissionDenied("承認の依頼は作成者がします。")
    requested = Notice.objects.filter(pk=notice.pk, state=Notice.State.DRAFT, approval_requested_at=None).update(
        approval_requested_at=timezone.now()
    )
    if requested:
        audit.record("notice.approval_requested", actor=actor, target=notice)
        from notices.tasks import mail_approval_request

        transaction.on_commit(lambda: mail_approval_request.delay(notice.pk))
    return bool(requested)


def approval_request_mail(*, notice_id: int) -> int:
    """Email the admins other than the author that ``notice_id`` waits for their approval. Once: the row is
    claimed by a conditional UPDATE before sending, so a task run twice (a redelivered message) sends nothing
    the second time. Returns the number of messages sent."""
    from notices.emails import approval_request_messages

    claimed = Notice.objects.filter(
        pk=notice_id, state=Notice.State.DRAFT, approval_requested_at__isnull=False, approval_mail_sent_at=None
    ).update(approval_mail_sent_at=timezone.now())
    if not claimed:
        return 0
    notice = Notice.objects.select_related("author").get(pk=notice_id)
    messages = approval_request_messages(notice=notice, recipients=approvers_for(notice))
    if messages:
        messages[0].connection.send_messages(messages)
    audit.record("notice.approval_request.mailed", target=notice, details={"recipients": len(messages)})
    return len(messages)


def approvers_for(notice: Notice):
    """Active admins who may approve ``notice`` (everyone but its author) and have an address to write to."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from efnet.models import Role

    return (
        get_user_model()
        .objects.filter(Q(groups__name=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .exclude(pk=notice.author_id)
        .exclude(email="")
        .distinct()
        .order_by("username")
    )


@transaction.atomic
def notice_approve(*, notice: Notice, actor) -> int:
    """A second admin approves: the audience is frozen now, one Delivery per member and channel.
    Returns the number of deliveries.

    The deliveries are written by one INSERT … SELECT (the database copies the audience; nothing is loaded
    into Python), so 80,000 members take as little memory as 8. The notice row is locked only at the end,
    for the check-and-approve: if another admin edited or approved it meanwhile, the version read first no
    longer matches and everything is rolled back, so nobody waits on the notice while the rows are copied."""
    seen = Notice.objects.get(pk=notice.pk)
    if seen.author_id == actor.pk:
        raise PermissionDenied("作成者本人は承認できません。別の管理者が承認してください。")
    if seen.state != Notice.State.DRAFT:
        raise ValidationError("下書きの案内だけを承認できます。")
    _check_body(seen.body)
    if not _freeze_audience(seen):
        raise ValidationError("対象の会員がいません。")
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if notice.state != Notice.State.DRAFT or notice.updated_at != seen.updated_at:
        raise ValidationError("承認の間に案内が変更されました。内容を確認してから、もう一度承認してください。")
    notice.state = Notice.State.APPROVED
    notice.approved_by = actor
    notice.approved_at = timezone.now()
    notice.save(update_fields=["state", "approved_by", "approved_at", "updated_at"])
    count = notice.deliveries.count()
    audit.record("notice.approved", actor=actor, target=notice, details={"deliveries": count})
    return count


def _freeze_audience(notice: Notice) -> int:
    """INSERT INTO delivery … SELECT from the audience query, in the database. Returns rows inserted."""
    columns = {
        "notice": Value(notice.pk),
        "member": F("pk"),
        "channel": Case(When(email="", then=Value(Channel.PRINT)), default=Value(Channel.EMAIL)),
        "status": Value(Delivery.Status.QUEUED),
        "attempts": Value(0),
        "message_id": Value(""),
        "last_error": Value(""),
        "tracking_done": Value(False),
        "created_at": Value(timezone.now(), output_field=DateTimeField()),
    }
    select = (
        audience(notice)
        .order_by()
        .annotate(**{f"d_{name}": expr for name, expr in columns.items()})
        .values_list(*(f"d_{name}" for name in columns))
    )
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    names = ", ".join(connection.ops.quote_name(Delivery._meta.get_field(n).column) for n in columns)
    # "WHERE 1 = 1" around the SELECT: SQLite needs a WHERE before ON CONFLICT to parse an upsert from a SELECT.
    # ``sql`` is Django's compiled query with its values kept in ``params``.
    insert = (
        f"INSERT INTO {table} ({names}) SELECT * FROM ({sql}) audience WHERE 1 = 1 "  # noqa: S608
        "ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        return cursor.rowcount


@transaction.atomic
def notice_send(*, notice: Notice, actor) -> bool:
    """Start sending. The state moves approved → sending by one conditional update, so a double-clicked
    button (or two admins at once) starts it once; returns False for the second click."""
    started = Notice.objects.filter(pk=notice.pk, state=Notice.State.APPROVED).update(
        state=Notice.State.SENDING, send_started_at=timezone.now(), updated_at=timezone.now()
    )
    if started:
        audit.record("notice.sending.started", actor=actor, target=notice)
        _dispatch_on_commit(notice.pk)
    return bool(started)


@transaction.atomic
def notice_pause(*, notice: Notice, actor) -> bool:
    """Workers stop claiming (the claim checks the notice's state); rows already in flight finish."""
    done = Notice.objects.filter(pk=notice.pk, state=Notice.State.SENDING).update(
        state=Notice.State.PAUSED, updated_at=timezone.now()
    )
    if done:
        audit.record("notice.sending.paused", actor=actor, target=notice)
    return bool(done)


@transaction.atomic
def notice_resume(*, notice: Notice, actor) -> bool:
    done = Notice.objects.filter(pk=notice.pk, state=Notice.State.PAUSED).update(
        state=Notice.State.SENDING, updated_at=timezone.now()
    )
    if done:
        audit.record("notice.sending.resumed", actor=actor, target=notice)
        _dispatch_on_commit(notice.pk)
    return bool(done)


@transaction.atomic
def notice_cancel(*, notice: Notice, actor) -> int:
    """Stop for good: every delivery still queued is cancelled. Returns how many."""
    done = Notice.objects.filter(
        pk=notice.pk, state__in=[Notice.State.APPROVED, Notice.State.SENDING, Notice.State.PAUSED]
    ).update(state=Notice.State.CANCELLED, updated_at=timezone.now())
    if not done:
        raise ValidationError("この案内は中止できません。")
    cancelled = notice.deliveries.filter(status=Delivery.Status.QUEUED).update(status=Delivery.Status.CANCELLED)
    audit.record("notice.cancelled", actor=actor, target=notice, details={"cancelled_deliveries": cancelled})
    return cancelled


def _problem_rows(notice: Notice, delivery_ids, status: str):
    return Delivery.objects.select_for_update().filter(notice=notice, pk__in=list(delivery_ids), status=status)


def _reopen(notice: Notice) -> None:
    """Deliveries of a sent notice go back to the queue: the notice is sending again, and is dispatched."""
    Notice.objects.filter(pk=notice.pk, state=Notice.State.SENT).update(
        state=Notice.State.SENDING, updated_at=timezone.now()
    )
    _dispatch_on_commit(notice.pk)


@transaction.atomic
def deliveries_retry(*, notice: Notice, delivery_ids, actor) -> int:
    """An admin retries failed deliveries (e.g. after the mail server or an address was corrected): back to
    the queue with their attempts reset. Rows no longer failed are left alone. Returns how many."""
    rows = list(_problem_rows(notice, delivery_ids, Delivery.Status.FAILED).select_related("member"))
    if not rows:
        return 0
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
        status=Delivery.Status.QUEUED, attempts=0, next_attempt_at=None, dispatched_at=None
    )
    audit.record_many([audit.event("notice.delivery.retried", actor=actor, target=d, member=d.member) for d in rows])
    _reopen(notice)
    return len(rows)


@transaction.atomic
def deliveries_resolve_unknown(*, notice: Notice, delivery_ids, actor, decision: str) -> int:
    """An admin decides about deliveries whose worker died mid-send: ``resend`` queues them again (a member
    may get it twice: the admin chose that), ``sent`` records them as sent (e.g. the mail log shows them).
    Rows no longer 不明 are left alone. Returns how many."""
    if decision not in ("resend", "sent"):
        raise ValidationError("判断を選んでください。")
    rows = list(_problem_rows(notice, delivery_ids, Delivery.Status.UNKNOWN).select_related("member"))
    if not rows:
        return 0
    now = timezone.now()
    done = Delivery.objects.filter(pk__in=[d.pk for d in rows])
    if decision == "resend":
        done.update(status=Delivery.Status.QUEUED, next_attempt_at=None, dispatched_at=None, claimed_at=None)
    else:
        done.update(status=Delivery.Status.SENT, sent_at=now)
    audit.record_many(
        [
            audit.event(
                "notice.delivery.unknown_resolved",
                actor=actor,
                target=d,
                member=d.member,
                details={"decision": decision, "message_id": d.message_id},
            )
            for d in rows
        ]
    )
    if decision == "resend":
        _reopen(notice)
    else:
        for d in rows:
            _mark_member_notified(d, at=now, actor=actor)
    return len(rows)


def delivery_retry(*, delivery: Delivery, actor) -> bool:
    """One failed delivery back to the queue (``deliveries_retry`` for one row)."""
    return deliveries_retry(notice=delivery.notice, delivery_ids=[delivery.pk], actor=actor) == 1


def delivery_resolve_unknown(*, delivery: Delivery, actor, decision: str) -> bool:
    """One 不明 delivery decided (``deliveries_resolve_unknown`` for one row)."""
    return (
        deliveries_resolve_unknown(notice=delivery.notice, delivery_ids=[delivery.pk], actor=actor, decision=decision)
        == 1
    )


def _mark_member_notified(delivery: Delivery, *, at, actor=None) -> None:
    from notices.outbox import update_tracking

    transaction.on_commit(lambda: update_tracking(delivery, at=at, actor=actor))


@transaction.atomic
def notice_mark_printed(*, notice: Notice, actor) -> int:
    """The FAX/print bundle went out (the fax server sent it, or it was posted): its deliveries are sent."""
    if notice.state not in (Notice.State.SENDING, Notice.State.SENT, Notice.State.PAUSED):
        raise ValidationError("送信を開始してから記録してください。")
    now = timezone.now()
    rows = list(
        Delivery.objects.select_for_update()
        .filter(notice=notice, channel=Channel.PRINT, status=Delivery.Status.QUEUED)
        .select_related("member", "notice__campaign")
    )
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(status=Delivery.Status.SENT, sent_at=now)
    for d in rows:
        audit.record("notice.delivery.sent", actor=actor, target=d, member=d.member, details={"channel": "print"})
        _mark_member_notified(d, at=now, actor=actor)
    notice_finish_if_done(notice_id=notice.pk)
    return len(rows)


def notice_finish_if_done(*, notice_id: int) -> bool:
    """sending → sent once no email delivery is waiting or in flight (print ones wait for the bundle)."""
    waiting = Delivery.objects.filter(
        notice_id=notice_id, status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
    ).exists()
    if waiting:
        return False
    done = Notice.objects.filter(pk=notice_id, state=Notice.State.SENDING).update(
        state=Notice.State.SENT, updated_at=timezone.now()
    )
    if done:
        audit.record("notice.sent", target=Notice.objects.get(pk=notice_id))
    return bool(done)
