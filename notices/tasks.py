"""Celery entry points. They carry ids only (never addresses, names or passwords) and are safe to run twice:
the outbox decides from the database rows, not from the message."""

from celery import shared_task

from notices import outbox


@shared_task(name="notices.dispatch_notice")
def dispatch_notice(notice_id: int) -> int:
    return outbox.dispatch(notice_id)


@shared_task(name="notices.send_batch")
def send_batch(delivery_ids: list[int]) -> dict:
    return outbox.send_batch(delivery_ids)


@shared_task(name="notices.redispatch")
def redispatch() -> int:
    """Periodic: reap deliveries stuck in ``sending`` and refill the queue from the database."""
    return outbox.redispatch_all()


@shared_task(name="notices.mail_approval_request")
def mail_approval_request(notice_id: int) -> int:
    from notices.services import approval_request_mail

    return approval_request_mail(notice_id=notice_id)
