"""Batch chunks rendered by the render processes (efnet.pdf_pool): same PDF, pages in order, a killed render
process fails the batch cleanly, and a process that may not start processes renders in itself."""

import contextlib
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from documents import services, storage
from documents.models import BatchJob
from efnet import pdf, pdf_pool
from members.models import MemberCard
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def render_processes(settings):
    settings.DOCUMENTS_RENDER_PROCESSES = 2
    settings.DOCUMENTS_BATCH_CHUNK_SIZE = 1  # one card per document: the chunks spread over both processes
    yield
    pdf_pool.shutdown()


@pytest.fixture
def members(world):
    return sorted([world.member_a, *(MemberFactory(office=world.office_a) for _ in range(4))], key=lambda m: m.number)


def new_job(world, members):
    return BatchJob.objects.create(
        requested_by=world.clerk_a,
        office=world.office_a,
        reason="紛失再発行",
        member_ids=[m.pk for m in members],
        total=len(members),
    )


def batch_pages(job):
    job.refresh_from_db()
    data = b"".join(
        storage.read_decrypted(area="documents", name=job.file_name, key=job.file_key, file_id=str(job.uuid))
    )
    return [page.extract_text().replace(" ", "") for page in PdfReader(io.BytesIO(data)).pages]


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ")[-1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.02)
    raise AssertionError(f"render process {pid} did not stop")


def test_batch_is_rendered_by_the_render_processes_with_pages_in_member_order(
    world, members, render_processes, monkeypatch
):
    assert pdf_pool.start(services.PDF_STYLESHEETS) == 2
    pids = pdf_pool.worker_pids()
    assert len(pids) == 2 and os.getpid() not in pids

    def not_here(*args, **kwargs):
        raise AssertionError("rendered in the test process, not by a render process")

    monkeypatch.setattr(pdf, "render_pdf", not_here)  # the render processes keep their own, real one

    job = new_job(world, members)
    services.batch_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == BatchJob.Status.DONE and job.done_count == len(members)
    pages = batch_pages(job)
    assert len(pages) == len(members)
    for page, member in zip(pages, members, strict=True):
        assert f"2.会員番号:{member.number}" in page and member.biglobe_password in page
    assert sorted(pdf_pool.worker_pids()) == sorted(pids)  # the same warm processes did the work


def test_a_render_process_killed_mid_batch_fails_the_batch_and_issues_nothing(
    world, members, render_processes, monkeypatch
):
    pdf_pool.start(services.PDF_STYLESHEETS)
    victim = pdf_pool.worker_pids()[0]
    real_html = services.cards_html
    calls = []

    def kill_during_second_chunk(contexts):
        calls.append(1)
        if len(calls) == 2:
            os.kill(victim, signal.SIGKILL)
            wait_gone(victim)
            time.sleep(0.3)  # the pool notices a dead process within moments
        return real_html(contexts)

    monkeypatch.setattr(services, "cards_html", kill_during_second_chunk)
    job = new_job(world, members)
    services.batch_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == BatchJob.Status.FAILED
    assert "PDF作成プロセスが途中で止まりました" in job.error
    assert not MemberCard.objects.exists()
    assert not storage.exists(area="documents", name=f"{job.uuid}.bin")

    # The next batch gets fresh render processes and goes through.
    monkeypatch.setattr(services, "cards_html", real_html)
    again = new_job(world, members)
    services.batch_run(job_id=again.pk)
    again.refresh_from_db()
    assert again.status == BatchJob.Status.DONE and MemberCard.objects.count() == len(members)
    assert victim not in pdf_pool.worker_pids()


def test_a_daemon_process_renders_in_itself(settings, monkeypatch):
    settings.DOCUMENTS_RENDER_PROCESSES = 2
    assert pdf_pool.pool_processes() == 2
    # A Celery prefork child is a daemon, and daemons may not start processes.
    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)
    assert pdf_pool.pool_processes() == 0
    documents = ["<p>一枚目</p>", "<p>二枚目</p>"]
    pdfs = list(pdf_pool.render_many(documents))
    assert [PdfReader(io.BytesIO(data)).pages[0].extract_text().strip() for data in pdfs] == ["一枚目", "二枚目"]
    assert pdf_pool.worker_pids() == []


def test_one_render_process_or_none_means_rendering_in_this_process(settings):
    for wanted in (0, 1):
        settings.DOCUMENTS_RENDER_PROCESSES = wanted
        assert pdf_pool.pool_processes() == 0


def test_render_processes_exit_when_their_worker_is_killed(tmp_path):
    """A worker killed with -9 must not leave its render processes behind, waiting forever."""
    pid_file = tmp_path / "render-pids"
    code = (
        "import os, signal, sys, django; django.setup()\n"
        "from efnet import pdf_pool\n"
        "pdf_pool.start(('pdf/documents.css',))\n"
        "open(sys.argv[1], 'w').write(' '.join(map(str, pdf_pool.worker_pids())))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "efnet.test_settings", "DOCUMENTS_RENDER_PROCESSES": "2"}
    # Output to files, not pipes: render processes left behind would hold a pipe open and hang the test.
    with open(tmp_path / "worker.log", "w") as log:
        code_run = subprocess.run(
            [sys.executable, "-c", code, str(pid_file)], cwd=ROOT, env=env, stdout=log, stderr=log, timeout=120
        )
    assert code_run.returncode == -signal.SIGKILL, (tmp_path / "worker.log").read_text()[-2000:]
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 2
    try:
        for pid in pids:
            wait_gone(pid)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # whatever the outcome, leave nothing running
