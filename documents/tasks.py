"""Thin Celery entry points: ids in, services do the work (and re-check scope for the requesting user)."""

from celery import shared_task

from documents import exports, services


@shared_task(name="documents.tasks.render_batch", acks_late=True)
def render_batch(job_id: int) -> None:
    services.batch_run(job_id=job_id)


@shared_task(name="documents.tasks.purge_expired_batches")
def purge_expired_batches() -> int:
    return services.purge_expired_batches() + exports.purge_expired_exports()


@shared_task(name="documents.tasks.reap_dead_batches")
def reap_dead_batches() -> int:
    return services.reap_dead_batches() + exports.reap_dead_exports()


@shared_task(name="documents.tasks.run_export", acks_late=True)
def run_export(job_id: int) -> None:
    exports.export_run(job_id=job_id)
