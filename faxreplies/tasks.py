"""Thin Celery entry points: ids in, services do the work."""

from celery import shared_task

from faxreplies import services


@shared_task(name="faxreplies.tasks.process_import", acks_late=True)
def process_import(import_id: int) -> None:
    services.fax_import_process(import_id=import_id)


@shared_task(name="faxreplies.tasks.purge_expired_pages")
def purge_expired_pages() -> int:
    return services.purge_expired_pages()
