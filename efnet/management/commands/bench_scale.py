"""Benchmark at the office's size: the staff pages, notice approval and call-list exports, timed on
PostgreSQL with 1,000 and 100,000 members in the same run.

Each size has its own scratch database (``<prefix>_1k``, ``<prefix>``), built once by ``seed_demo`` and
reused by later runs (``--rebuild`` drops and rebuilds them). Each size is measured in its own process (so
one size's memory does not hide the other's), through Django's test client with the demo users logged in;
query counts come from one extra request per page. Memory is the process's peak resident set during an
action (the kernel's high-water mark, reset just before it) minus its resident set when it began.
The last line printed is one JSON object."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

TARGETS = {
    "search_p95_ms": 100,
    "list_p95_ms": 100,
    "dashboard_p95_ms": 200,
    "member_page_p95_ms": 100,
    "approve_s": 5,
    "approve_extra_mib": 50,
    "export_csv_s": 5,
    "export_extra_mib": 50,
    "growth_ratio_max": 3,
}


class Command(BaseCommand):
    help = "PostgreSQL で 1,000 件と 100,000 件の会員データを使い、画面・承認・出力の速さとメモリを測ります。"

    def add_arguments(self, parser):
        parser.add_argument("--server", default="", help="postgres://user@host:port (default: DATABASE_URL's)")
        parser.add_argument("--prefix", default="efnet_scale_bench", help="scratch database name prefix")
        parser.add_argument("--small", type=int, default=1000)
        parser.add_argument("--large", type=int, default=100000)
        parser.add_argument("--reps", type=int, default=20, help="timed requests per page")
        parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the scratch databases")
        parser.add_argument("--worker", type=int, default=0, help=argparse_hidden())

    def handle(self, *args, server, prefix, small, large, reps, rebuild, worker, **options):
        if worker:
            return _Worker(self.stdout, members=worker, reps=reps).run()
        server = server or os.environ.get("DATABASE_URL", "")
        if not server.startswith(("postgres://", "postgresql://")):
            raise CommandError("PostgreSQL が必要です: --server postgres://user@127.0.0.1:5432 または DATABASE_URL")
        results = {}
        for size, name in ((small, f"{prefix}_1k"), (large, prefix)):
            url = _with_database(server, name)
            _ensure_database(server, name, drop=rebuild)
            self.stdout.write(f"== {size:,} 会員 ({name}) ==")
            env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
            env.pop("REDIS_URL", None)
            proc = subprocess.run(  # noqa: S603 - our own manage.py, arguments from this command
                [sys.executable, sys.argv[0], "bench_scale", "--worker", str(size), "--reps", str(reps)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise CommandError(f"{size:,} 件の測定に失敗しました:\n{proc.stderr[-4000:]}")
            lines = proc.stdout.strip().splitlines()
            self.stdout.write("\n".join(lines[:-1]))
            results[size] = json.loads(lines[-1])
        summary = _summary(results[small], results[large])
        self._print_table(results[small], results[large], summary)
        self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def _print_table(self, small, large, summary):
        self.stdout.write(f"\n{'page':<34} {'1k p50':>8} {'1k p95':>8} {'100k p50':>9} {'100k p95':>9} {'ratio':>6} q")
        for key, big in large["pages"].items():
            little = small["pages"][key]
            ratio = big["p50_ms"] / little["p50_ms"] if little["p50_ms"] else 0
            self.stdout.write(
                f"{key:<34} {little['p50_ms']:>8.1f} {little['p95_ms']:>8.1f} {big['p50_ms']:>9.1f} "
                f"{big['p95_ms']:>9.1f} {ratio:>6.2f} {big['queries']}"
            )
        for key, big in large["actions"].items():
            little = small["actions"].get(key)
            self.stdout.write(
                f"{key:<34} "
                + (f"{little['median_s']:>7.2f}s {little['extra_mib']:>6.1f}Mi " if little else f"{'—':>16} ")
                + f"{big['median_s']:>8.2f}s {big['extra_mib']:>7.1f}Mi count={big['count']}"
            )
        met = {k: v for k, v in summary["targets_met"].items()}
        self.stdout.write("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items()))


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _ensure_database(server: str, name: str, *, drop: bool) -> None:
    import psycopg

    if not name.startswith("efnet_") or "scale" not in name:
        raise CommandError("scratch database names start with efnet_ and contain scale")
    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _summary(small: dict, large: dict) -> dict:
    def worst(group):
        return max(p["p95_ms"] for k, p in large["pages"].items() if p["group"] == group)

    ratios = {
        k: round(p["p50_ms"] / small["pages"][k]["p50_ms"], 2)
        for k, p in large["pages"].items()
        if small["pages"][k]["p50_ms"]
    }
    csv_all = large["actions"]["export_csv_all"]
    out = {
        "members": large["members"],
        "accounts": large["accounts"],
        "search_p95_ms": worst("search"),
        "list_p95_ms": worst("list"),
        "dashboard_p95_ms": worst("dashboard"),
        "member_page_p95_ms": worst("member_page"),
        "audience_p95_ms": worst("audience"),
        "approve_s": large["actions"]["approve"]["median_s"],
        "approve_extra_mib": large["actions"]["approve"]["extra_mib"],
        "approve_deliveries": large["actions"]["approve"]["count"],
        "export_csv_s": csv_all["median_s"],
        "export_extra_mib": max(a["extra_mib"] for k, a in large["actions"].items() if k.startswith("export")),
        "export_xlsx_s": large["actions"]["export_xlsx_all"]["median_s"],
        "export_csv_job_s": large["actions"].get("export_csv_all_job", {}).get("median_s"),
        "export_xlsx_job_s": large["actions"].get("export_xlsx_all_job", {}).get("median_s"),
        "max_queries_per_page": max(p["queries"] for r in (small, large) for p in r["pages"].values()),
        "growth_ratio_max": max(ratios.values()),
        "growth_ratio_page": max(ratios, key=ratios.get),
        "peak_rss_mib": {"1k": small["peak_rss_mib"], "100k": large["peak_rss_mib"]},
        "pages_1k_p95_ms": {k: p["p95_ms"] for k, p in small["pages"].items()},
        "pages_100k_p95_ms": {k: p["p95_ms"] for k, p in large["pages"].items()},
    }
    out["targets_met"] = {key: out[key] <= limit for key, limit in TARGETS.items()}
    return out


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class _Memory:
    """Peak resident set during a block, above the resident set at its start (Linux: clear_refs resets the
    high-water mark)."""

    def __enter__(self):
        import gc

        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        self.start = _rss_kib("VmRSS")
        return self

    def __exit__(self, *exc):
        self.extra_mib = round(max(0, _rss_kib("VmHWM") - self.start) / 1024, 1)


class _Worker:
    def __init__(self, stdout, *, members: int, reps: int):
        self.stdout, self.members, self.reps = stdout, members, reps

    def run(self):
        from django.db import connection

        from members.models import Member

        if connection.vendor != "postgresql":
            raise CommandError("PostgreSQL only")
        call_command("migrate", verbosity=0)
        have = Member.objects.count()
        if have and have != self.members:
            raise CommandError(f"{have:,} members in {connection.settings_dict['NAME']}: run with --rebuild")
        if not have:
            started = time.monotonic()
            call_command("seed_demo", members=self.members, stdout=open(os.devnull, "w"))  # noqa: SIM115
            self.stdout.write(f"seed_demo --members {self.members}: {time.monotonic() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        result = {"members": self.members, "pages": {}, "actions": {}}
        from tracking.models import AccountStatus

        result["accounts"] = AccountStatus.objects.count()
        for key, group, client, url in self._pages():
            result["pages"][key] = self._time_page(group, client, url)
        result["actions"] = self._actions()
        import resource

        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _client(self, username):
        from django.test import Client
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from efnet.auth_views import AUTH_AT
        from efnet.models import User

        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.filter(user=user).first().persistent_id
        session[AUTH_AT] = int(time.time())
        session.save()
        return client

    def _pages(self):
        from members.models import Member, SalesOffice
        from tracking.models import Campaign

        head, clerk, admin = self._client("honsha"), self._client("osaka"), self._client("admin")
        osaka = SalesOffice.objects.get(code="osaka")
        campaign = Campaign.objects.order_by("-id").first()
        ids = Member.objects.filter(office=osaka).order_by("pk").values_list("pk", flat=True)
        sample = Member.objects.get(pk=ids[len(ids) // 2])
        user_id = sample.biglobe_user_id
        audience = urlencode({"campaign": campaign.pk, "audience_status": "pending", "audience_edition_rule": "any"})
        return [
            ("search_member_number", "search", clerk, f"/members/?q={sample.number}"),
            ("search_biglobe_id", "search", head, f"/members/?q={user_id}"),
            ("search_company_name", "search", head, "/members/?q=高橋"),
            ("search_company_variant", "search", head, "/members/?q=髙橋商事"),
            ("search_kana", "search", head, "/members/?q=タカハシ"),
            ("search_mail_part", "search", head, f"/members/?q={user_id[1:]}@efnet"),
            ("list_members_head", "list", head, "/members/"),
            ("list_members_office", "list", clerk, "/members/"),
            ("list_incomplete_head", "list", head, "/tracking/members/?status=未完了"),
            ("list_incomplete_office", "list", clerk, "/tracking/members/?status=未完了"),
            ("list_accounts_office", "list", clerk, "/tracking/accounts/?status=未完了"),
            ("dashboard_head", "dashboard", head, "/tracking/"),
            ("dashboard_office", "dashboard", clerk, "/tracking/"),
            ("member_page", "member_page", clerk, f"/members/{sample.pk}/"),
            ("notice_audience_count", "audience", admin, f"/notices/audience/?{audience}"),
        ]

    def _time_page(self, group, client, url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def fetch():
            response = client.get(url)
            if response.status_code not in (200, 302):
                raise CommandError(f"{url}: {response.status_code}")
            if response.streaming:
                for _ in response.streaming_content:
                    pass

        for _ in range(2):
            fetch()
        times = []
        for _ in range(self.reps):
            started = time.perf_counter()
            fetch()
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            fetch()
        times.sort()
        return {
            "group": group,
            "p50_ms": round(statistics.median(times), 1),
            # Nearest rank: the ceil(0.95 n)-th of n sorted times (the 19th of 20; index int(0.95 n) was the
            # slowest of 20, so one pause of the process made a page's "p95").
            "p95_ms": round(times[math.ceil(0.95 * len(times)) - 1], 1),
            "queries": len(ctx),
        }

    def _actions(self):
        head, clerk = self._client("honsha"), self._client("osaka")
        actions = {}
        big = self.members >= 50000
        actions["approve"] = self._time_action(self._approve, reps=2 if big else 3)
        from django.test import override_settings

        # The streamed response (what a request under EXPORT_BACKGROUND_ROWS gets), whatever the size…
        with override_settings(EXPORT_BACKGROUND_ROWS=10**9):
            for key, client, fmt, reps in (
                ("export_csv_all", head, "csv", 3),
                ("export_csv_office", clerk, "csv", 3),
                ("export_xlsx_all", head, "xlsx", 1 if big else 3),
            ):
                actions[key] = self._time_action(lambda c=client, f=fmt: self._download(c, f), reps=reps)
        # …and, beyond it, the request that queues the job plus the worker writing the encrypted file.
        if big:
            for key, fmt in (("export_csv_all_job", "csv"), ("export_xlsx_all_job", "xlsx")):
                actions[key] = self._time_action(lambda f=fmt: self._background(head, f), reps=1)
        return actions

    def _background(self, client, fmt):
        from unittest import mock

        from documents import exports
        from documents.models import ExportJob
        from documents.tasks import run_export

        # The worker's part runs here, in this process, so its time and memory are measured (no broker).
        with mock.patch.object(run_export, "delay"):
            response = client.get(f"/tracking/members/export/{fmt}/")
        if response.status_code != 302:
            raise CommandError(f"export {fmt} (background): {response.status_code}")
        job = ExportJob.objects.order_by("-pk").first()
        run_export(job.pk)
        job.refresh_from_db()
        if job.status != ExportJob.Status.DONE:
            raise CommandError(f"export {fmt} (background): {job.status} {job.error}")
        size = job.file_size
        exports._delete_file(job)
        job.delete()
        return size

    def _time_action(self, action, *, reps):
        times, extra, rows = [], [], 0
        for _ in range(reps):
            with _Memory() as memory:
                started = time.perf_counter()
                rows = action()
                times.append(time.perf_counter() - started)
            extra.append(memory.extra_mib)
        return {"median_s": round(statistics.median(times), 2), "extra_mib": max(extra), "count": rows}

    def _download(self, client, fmt):
        response = client.get(f"/tracking/members/export/{fmt}/")
        if response.status_code != 200:
            raise CommandError(f"export {fmt}: {response.status_code}")
        size = 0
        for chunk in response.streaming_content:
            size += len(chunk)
        response.close()
        return size

    def _approve(self):
        """Approve a notice to every member with an open account, then roll it all back (the database
        stays as built)."""
        import datetime

        from django.db import transaction

        from efnet.models import User
        from notices import services
        from tracking.models import Campaign

        class Rollback(Exception):
            pass

        count = 0
        try:
            with transaction.atomic():
                notice = services.notice_create(
                    actor=User.objects.get(username="admin"),
                    campaign=Campaign.objects.order_by("-id").first(),
                    edition=9,
                    title="ベンチマーク",
                    date=datetime.date(2026, 7, 1),
                    body="{{ 会社名 }} 様\n{{ 未完了アカウント }}\n",
                )
                count = services.notice_approve(notice=notice, actor=User.objects.get(username="admin2"))
                raise Rollback
        except Rollback:
            pass
        return count
