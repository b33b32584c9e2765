"""Benchmark of member-card PDF rendering, beside plain WeasyPrint on the same HTML, in the same run.

    python manage.py bench_pdf [--iterations 21] [--repeats 5] [--processes N] [--skip-1000]

Measures: one card (median ms), a 100-card batch (median of --repeats runs) and a 1,000-card batch (cards per
second) through the batch path (chunked documents rendered by the render processes, encrypted file, ZIP beyond
the threshold), and the peak resident memory while the batches run: this process plus its render processes,
their RSS added up (shared pages counted once per process, so an upper bound). The baseline renders the same
chunk documents with plain WeasyPrint, one after the other in this process. The render processes are started
and warmed up before the clock runs (reported as pool_start_ms), as a worker keeps them between batches. Cards
are fictitious. The last line of output is one JSON object.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from documents import services, storage
from efnet import pdf, pdf_pool


def fictitious_card(n: int) -> dict:
    return {
        "serial": f"C-20260626-B{n:05d}",
        "issued_on": "2026年6月26日",
        "reason": "紛失再発行",
        "registered_on": "2025年10月1日",
        "number": f"{300000 + n:06d}",
        "name": f"株式会社ベンチ商事{n}",
        "postal_code": "530-0001",
        "address": f"大阪府大阪市北区梅田{n % 9 + 1}-{n % 20 + 1}-{n % 30 + 1} テストビル{n % 12 + 1}階",
        "user_id": f"bench{300000 + n:06d}",
        "password": f"Bn{n:05d}xYz"[:12].replace("0", "7").replace("1", "8"),
        "changed_on": "",
        "email": f"bench{300000 + n:06d}@efnet-demo.example",
        "pop3_server": "mail.biglobe.ne.jp",
        "smtp_server": "mail.biglobe.ne.jp",
        "office_name": "大阪 営業所",
        "office_phone": "06-6942-4028",
    }


def rss_mib(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else 0.0


def tree_rss_mib() -> float:
    """This process and its render processes, resident sets added up."""
    return rss_mib() + sum(rss_mib(pid) for pid in pdf_pool.worker_pids())


class PeakRss:
    """Samples the resident set (of this process, and with ``tree`` its render processes) every 20 ms while the
    block runs."""

    def __init__(self, *, tree: bool = True):
        self._measure = tree_rss_mib if tree else rss_mib

    def __enter__(self):
        self.peak = self._measure()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._measure())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._measure())


def chunked(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


class Command(BaseCommand):
    help = "Benchmark member-card PDF rendering beside plain WeasyPrint (prints a JSON line last)."

    def add_arguments(self, parser):
        parser.add_argument("--iterations", type=int, default=21, help="renders of the one-card case")
        parser.add_argument("--repeats", type=int, default=5, help="runs of the 100-card batch (median)")
        parser.add_argument(
            "--processes", type=int, default=None, help="render processes (default DOCUMENTS_RENDER_PROCESSES)"
        )
        parser.add_argument("--skip-1000", action="store_true", help="leave out the 1,000-card batch")

    def handle(self, *args, iterations, repeats, processes, skip_1000, **options):
        if processes is not None:
            settings.DOCUMENTS_RENDER_PROCESSES = processes
        chunk_size = settings.DOCUMENTS_BATCH_CHUNK_SIZE
        out = self.stdout
        result: dict = {
            "cpus": os.cpu_count(),
            "render_processes": pdf_pool.pool_processes(),
            "chunk_size": chunk_size,
            "zip_threshold": settings.DOCUMENTS_BATCH_ZIP_THRESHOLD,
        }
        started = time.perf_counter()
        pdf_pool.start(services.PDF_STYLESHEETS)
        result["pool_start_ms"] = round((time.perf_counter() - started) * 1000, 1)

        card_html = services.cards_html([fictitious_card(0)])
        started = time.perf_counter()
        services.render_cards([fictitious_card(0)])  # first use: fontconfig, font files, stylesheet
        result["first_render_ms"] = round((time.perf_counter() - started) * 1000, 1)
        pdf.render_pdf_plain(
            card_html, stylesheets=services.PDF_STYLESHEETS
        )  # the baseline's own first use is not counted either

        ours, plain = [], []
        for i in range(iterations):
            # Interleaved, so both see the same machine load.
            started = time.perf_counter()
            services.render_cards([fictitious_card(i)])
            ours.append(time.perf_counter() - started)
            html = services.cards_html([fictitious_card(i)])
            started = time.perf_counter()
            pdf.render_pdf_plain(html, stylesheets=services.PDF_STYLESHEETS)
            plain.append(time.perf_counter() - started)
        result["card_ms_median"] = round(statistics.median(ours) * 1000, 1)
        result["baseline_card_ms_median"] = round(statistics.median(plain) * 1000, 1)
        out.write(
            f"one card: {result['card_ms_median']} ms median (plain WeasyPrint {result['baseline_card_ms_median']} ms)"
        )

        sizes = [100] if skip_1000 else [100, 1000]
        # The files go where a real batch's go (the database), and are deleted afterwards.
        try:
            for size in sizes:
                cards = [fictitious_card(i) for i in range(size)]
                as_zip = size > settings.DOCUMENTS_BATCH_ZIP_THRESHOLD
                runs = repeats if size == 100 else 1
                rates, base_rates = [], []
                with PeakRss() as memory:
                    for _ in range(runs):
                        writer = storage.EncryptedWriter(
                            area="bench", name=f"b{size}", key=storage.new_key(), file_id="b"
                        )
                        started = time.perf_counter()
                        services.write_cards_file(iter(chunked(cards, chunk_size)), writer=writer, as_zip=as_zip)
                        file_size = writer.close()
                        rates.append(size / (time.perf_counter() - started))
                # Baseline: the same chunk documents, each through plain WeasyPrint, in this process.
                with PeakRss(tree=False) as base_memory:
                    for _ in range(runs):
                        started = time.perf_counter()
                        for chunk in chunked(cards, chunk_size):
                            pdf.render_pdf_plain(services.cards_html(chunk), stylesheets=services.PDF_STYLESHEETS)
                        base_rates.append(size / (time.perf_counter() - started))
                ours_rate, base_rate = statistics.median(rates), statistics.median(base_rates)
                key = "batch" if size == 100 else f"batch{size}"
                result[f"{key}_cards_per_s"] = round(ours_rate, 1)
                result[f"baseline_{key}_cards_per_s"] = round(base_rate, 1)
                if runs > 1:
                    result[f"{key}_cards_per_s_runs"] = [round(r, 1) for r in rates]
                    result[f"baseline_{key}_cards_per_s_runs"] = [round(r, 1) for r in base_rates]
                result[f"{key}_peak_rss_mib"] = round(memory.peak, 1)
                result[f"baseline_{key}_peak_rss_mib"] = round(base_memory.peak, 1)
                result[f"{key}_file_mib"] = round(file_size / 2**20, 2)
                out.write(
                    f"{size} cards ({'zip' if as_zip else 'pdf'}{f', median of {runs}' if runs > 1 else ''}):"
                    f" {ours_rate:.1f} cards/s, peak RSS {memory.peak:.0f} MiB"
                    f" (plain WeasyPrint {base_rate:.1f} cards/s, peak RSS {base_memory.peak:.0f} MiB)"
                )
        finally:
            for size in sizes:
                storage.delete(area="bench", name=f"b{size}")
        result["process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        pdf_pool.shutdown()
        out.write(json.dumps(result, ensure_ascii=False))
