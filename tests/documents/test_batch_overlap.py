"""Two batches for the same office: the second is refused while the first is queued or running, two jobs that
do overlap (finishing at the same moment) chain each member's cards correctly, and a batch that fails while
recording its cards ends FAILED with a message, never stuck at 作成中."""

import threading

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.urls import reverse

from documents import services, storage
from documents.models import BatchJob
from efnet.models import AuditEvent
from members.models import MemberCard
from tests.conftest import login
from tests.factories import MemberFactory


@pytest.fixture
def office_a_members(world):
    return [world.member_a, MemberFactory(office=world.office_a), MemberFactory(office=world.office_a)]


def _job(world, members):
    return BatchJob.objects.create(
        requested_by=world.clerk_a,
        office=world.office_a,
        reason="紛失再発行",
        member_ids=[m.pk for m in members],
        total=len(members),
    )


def _assert_one_chain_per_member(members, length):
    for member in members:
        cards = list(MemberCard.objects.filter(member=member).order_by("issued_at", "id"))
        assert len(cards) == length
        assert cards[0].supersedes is None
        for older, newer in zip(cards, cards[1:], strict=False):
            assert newer.supersedes_id == older.pk, f"{member.number}: broken chain"
        assert MemberCard.objects.filter(member=member, superseded_by__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_second_batch_for_the_office_is_refused_while_the_first_is_active(
    client, world, office_a_members, django_capture_on_commit_callbacks
):
    login(client, world.clerk_a)
    data = {"office": world.office_a.pk, "reason": "紛失再発行"}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert client.post(reverse("documents:batch_list"), data).status_code == 302
    first = BatchJob.objects.get()
    assert first.status == BatchJob.Status.QUEUED and len(queued) == 1

    refused = client.post(reverse("documents:batch_list"), data)
    assert refused.status_code == 200
    assert f"受付番号 {first.pk}" in refused.content.decode() and "終わっていません" in refused.content.decode()
    assert BatchJob.objects.count() == 1
    with pytest.raises(ValidationError):
        services.batch_create(actor=world.admin, office=world.office_a, reason="紛失再発行")

    services.batch_run(job_id=first.pk)
    first.refresh_from_db()
    assert first.status == BatchJob.Status.DONE
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("documents:batch_list"), data).status_code == 302
    second = BatchJob.objects.latest("id")
    assert second.pk != first.pk and second.status == BatchJob.Status.DONE
    _assert_one_chain_per_member(office_a_members, 2)


@pytest.mark.django_db
@pytest.mark.parametrize("error", [IntegrityError("duplicate key"), ValidationError("不正な値")])
def test_an_error_while_recording_the_cards_fails_the_job_with_a_message(
    world, office_a_members, monkeypatch, caplog, error
):
    job = _job(world, office_a_members)
    real = services._record_card
    calls = []

    def record_then_break(**kwargs):
        calls.append(kwargs["member"].pk)
        if len(calls) == 2:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(services, "_record_card", record_then_break)
    services.batch_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED and job.finished_at is not None
    assert "発行の記録に失敗しました" in job.error and "何も発行されていません" in job.error
    assert not MemberCard.objects.exists()  # the first member's card was rolled back with the rest
    assert not AuditEvent.objects.filter(action__in=["member.card.issued", "documents.batch.completed"]).exists()
    assert not storage.exists(area="documents", name=f"{job.uuid}.bin")
    assert any(r.levelname == "ERROR" and str(job.pk) in r.getMessage() for r in caplog.records)


# Skipped before any fixture touches the database; serialized_rollback, as the other transactional tests, so
# the flush at its end leaves the next serialized test a database it can restore.
@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="needs PostgreSQL row locks: run with DATABASE_URL=postgres://…",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_batches_finishing_together_both_end_done_with_one_chain_per_member(
    world, office_a_members, monkeypatch
):
    """For real: two workers, two database connections, both finishing at the same moment (PostgreSQL)."""
    for member in office_a_members:
        services.member_card_issue(member=member, reason="新規", actor=world.clerk_a)
    # Two jobs already queued for the office (batch_create now refuses the second; these come from before it
    # did, or from the admin): what matters is that finishing them together cannot break the card chain.
    jobs = [_job(world, office_a_members), _job(world, office_a_members)]

    render_one_at_a_time = threading.Lock()  # WeasyPrint in two threads of one process is not the point here
    real_write, real_finish = services.write_cards_file, services._batch_finish
    together = threading.Barrier(2, timeout=60)

    def write(*args, **kwargs):
        with render_one_at_a_time:
            return real_write(*args, **kwargs)

    def finish(*args, **kwargs):
        together.wait()
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(services, "write_cards_file", write)
    monkeypatch.setattr(services, "_batch_finish", finish)

    def run(job_id):
        try:
            services.batch_run(job_id=job_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job.pk,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for job in jobs:
        job.refresh_from_db()
        assert job.status == BatchJob.Status.DONE, (job.status, job.error)
        assert job.done_count == 3
    _assert_one_chain_per_member(office_a_members, 3)
