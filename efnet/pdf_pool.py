"""Rendering many PDF documents on every core: a small pool of warm render processes.

WeasyPrint is pure Python on one core per process; a batch of member cards is CPU-bound, so a worker that
renders its chunks one after the other leaves the other cores idle. ``render_many`` hands the chunk documents
to ``DOCUMENTS_RENDER_PROCESSES`` render processes and yields the PDFs in order, with at most one document per
process plus one waiting, so memory stays flat however long the batch is.

The processes are started once per worker process ("spawn": nothing of the parent's threads or locks is
inherited), load Django and the fonts and render a warm-up page, and are then kept for later batches. What
crosses to them is HTML and what comes back is PDF bytes, through pipes between processes of the same worker:
nothing is written anywhere, and no password goes through the broker.

Where a process may not start processes (a Celery prefork child is a daemon), or when the setting is 0 or 1,
the documents are rendered in the calling process, as before: same result, one core.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

from efnet import pdf

logger = logging.getLogger(__name__)

__all__ = ["BrokenProcessPool", "pool_processes", "render_many", "shutdown", "start", "worker_pids"]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def pool_processes() -> int:
    """How many render processes ``render_many`` would use here (0: renders in this process)."""
    wanted = settings.DOCUMENTS_RENDER_PROCESSES
    if wanted < 2:
        return 0
    if multiprocessing.current_process().daemon:
        return 0
    return wanted


def _exit_with_parent() -> None:
    """In a render process: exit as soon as the worker that started it is gone (even by kill -9), rather than
    wait forever for work on a queue that its siblings also hold open."""
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os._exit(1)


def _warm_up(stylesheets: tuple[str, ...]) -> None:
    """Runs in each render process as it starts: Django, fonts and stylesheets, before the first real page."""
    import django

    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    django.setup()
    pdf.render_pdf("<p>準備 0O1lI</p>", stylesheets=stylesheets)


def _render(html: str, stylesheets: tuple[str, ...]) -> bytes:
    return pdf.render_pdf(html, stylesheets=stylesheets)


def _get_pool(size: int, stylesheets: tuple[str, ...]) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is not None and _pool_size != size:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=size,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_up,
                initargs=(stylesheets,),
            )
            _pool_size = size
            logger.info("started %d PDF render processes", size)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    """Drop a pool one of whose processes died, so that the next call starts fresh ones."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _ready() -> int:
    import time

    time.sleep(0.2)  # long enough that a process which has warmed up does not take a second one
    return os.getpid()


def start(stylesheets: tuple[str, ...] = ()) -> int:
    """Start (or keep) the render processes and wait until each has warmed up; returns how many there are."""
    size = pool_processes()
    if not size:
        return 0
    pool = _get_pool(size, stylesheets)
    ready: set[int] = set()
    for _ in range(20):
        ready.update(future.result() for future in [pool.submit(_ready) for _ in range(size)])
        if len(ready) >= size:
            break
    return size


def render_many(documents: Iterable[str], *, stylesheets: tuple[str, ...] = ()) -> Iterator[bytes]:
    """Render each HTML document of ``documents`` to PDF, yielding the PDFs in the same order.

    ``documents`` may be a generator doing database work between documents (it runs in the caller). Stopping
    early (an exception in the caller, a cancelled batch) drops the documents still queued. A render process
    that dies raises BrokenProcessPool here; the next call starts fresh processes.
    """
    size = pool_processes()
    if not size:
        for html in documents:
            yield pdf.render_pdf(html, stylesheets=stylesheets)
        return
    pool = _get_pool(size, stylesheets)
    pending: deque = deque()
    try:
        for html in documents:
            pending.append(pool.submit(_render, html, stylesheets))
            if len(pending) > size:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        _discard(pool)
        raise
    finally:
        for future in pending:
            future.cancel()


def worker_pids() -> list[int]:
    """The render processes' ids (for tests and the benchmark's memory figures)."""
    with _lock:
        if _pool is None:
            return []
        return [p.pid for p in (getattr(_pool, "_processes", None) or {}).values() if p.pid]


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
