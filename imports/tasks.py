"""Thin Celery entry points: a batch id in, the services do the work (and re-check the user's permission)."""

from celery import shared_task

from imports import services


@shared_task(name="imports.tasks.preview_batch", acks_late=True)
def preview_batch(batch_id: int) -> None:
    services.batch_preview_run(batch_id=batch_id)


@shared_task(name="imports.tasks.apply_batch", acks_late=True)
def apply_batch(batch_id: int) -> None:
    services.batch_apply_run(batch_id=batch_id)


@shared_task(name="imports.tasks.purge_expired_files")
def purge_expired_files() -> int:
    return services.purge_expired_files()


@shared_task(name="imports.tasks.resume_stalled")
def resume_stalled() -> list[int]:
    return services.resume_stalled()
