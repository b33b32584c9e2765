"""Benchmark of the import path on a generated office file (CP932 CSV): preview, apply and undo.

    python manage.py bench_import [--members 100000 --addresses-per-member 2 --errors 300]

Run it against a scratch database (it creates members and removes them again by undoing its batch). Prints the
figures, then one JSON line. ``--per-row N`` also times saving N members one at a time through the ORM (one
lookup and one INSERT per row, as django-import-export's default row-by-row import does) for comparison.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from efnet.celery import app
from efnet.models import User
from imports import services
from imports.models import ImportBatch
from members.models import Member, SalesOffice
from tracking.models import Campaign

HEADERS = [
    "会員番号",
    "登録者名",
    "フリガナ",
    "郵便番号",
    "住所",
    "電話",
    "FAX",
    "営業所",
    "会員登録日",
    "ユーザーID",
    "パスワード",
    "メールアドレス",
    "追加メールアドレス",
    "ID",
    "発行日",
    "状態",
    "確認日",
]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_file(path: Path, *, members: int, per_member: int, errors: int, offices: list[str]) -> int:
    """The generated office file; every ``members // errors``-th member row carries a deliberate error."""
    every = max(1, members // errors) if errors else 0
    made_errors = 0
    with open(path, "w", encoding="cp932", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for i in range(members):
            number = f"{5000000 + i:07d}"
            row = [
                number,
                f"株式会社ベンチ商事{i}",
                f"ﾍﾞﾝﾁｼｮｳｼﾞ{i}",
                "5400001",
                f"大阪府大阪市中央区本町{i % 9 + 1}-{i % 50 + 1}-3",
                "06-6000-0000",
                "06-6000-0001",
                offices[i % len(offices)],
                f"令和{i % 6 + 2}年{i % 12 + 1}月{i % 28 + 1}日",
                f"bench{number}",
                f"Bp{i:07d}xQ",
                f"bench{number}@efnet-demo.example",
                "",
                "",
                "",
                "完了" if i % 3 == 0 else "",
                "2026/6/20" if i % 3 == 0 else "",
            ]
            if every and i % every == every - 1 and made_errors < errors:
                kind = made_errors % 3
                if kind == 0:
                    row[8] = "令和8年13月1日"
                elif kind == 1:
                    row[7] = "大坂"
                else:
                    row[0] = f"{5000000 + i - 1:07d}"  # the previous row's number again
                made_errors += 1
            writer.writerow(row)
            for slot in range(per_member):
                address = f"b{number}s{slot}@efnet-demo.example"
                status = "完了" if (i + slot) % 4 == 0 else ""
                writer.writerow(
                    [number, "", "", "", "", "", "", "", "", "", f"Ba{i:07d}{slot}Z", "", address]
                    + [f"b{number}s{slot}", "2026/6/1", status, "2026/6/21" if status else ""]
                )
    return made_errors


class Command(BaseCommand):
    help = "Times preview, apply and undo of a generated CP932 import file."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=100_000)
        parser.add_argument("--addresses-per-member", type=int, default=2)
        parser.add_argument("--errors", type=int, default=300)
        parser.add_argument("--per-row", type=int, default=0, help="also time N members saved one at a time")

    def handle(self, *args, members, addresses_per_member, errors, per_row, **options):
        app.conf.task_always_eager = True  # the steps run here, timed, instead of on a worker
        # Measure what production runs: with DEBUG on (the development keys), Django keeps the text of every
        # query in memory, which at this size is hundreds of MB and a good part of the time.
        settings.DEBUG = False
        vendor = connection.vendor
        admin, _ = User.objects.get_or_create(username="bench-import-admin", defaults={"is_superuser": True})
        admin.is_superuser = True
        admin.save()
        if not Campaign.objects.filter(is_active=True).exists():
            Campaign.objects.create(name="ベンチマーク用キャンペーン", started_on=date(2026, 6, 1))
        offices = list(SalesOffice.objects.values_list("name", flat=True)) or ["大阪営業所"]

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "office.csv"
            started = time.perf_counter()
            made_errors = write_file(
                path, members=members, per_member=addresses_per_member, errors=errors, offices=offices
            )
            generate_seconds = time.perf_counter() - started
            size_mib = path.stat().st_size / 2**20
            with open(path, "rb") as stream:
                batch = services.batch_upload(actor=admin, uploaded_file=File(stream, name="office.csv"))
            upload_rss = peak_rss_mib()

        started, cpu = time.perf_counter(), time.process_time()
        services.batch_map_columns(batch=batch, actor=admin, mapping={})
        preview_seconds, preview_cpu = time.perf_counter() - started, time.process_time() - cpu
        rss = {"upload": round(upload_rss, 1), "preview": round(peak_rss_mib(), 1)}
        batch.refresh_from_db()
        if batch.status != ImportBatch.Status.PREVIEWED:
            raise SystemExit(f"preview failed: {batch.status} {batch.error}")

        started, cpu = time.perf_counter(), time.process_time()
        services.batch_confirm(batch=batch, actor=admin, skip_errors=True)
        apply_seconds, apply_cpu = time.perf_counter() - started, time.process_time() - cpu
        rss["apply"] = round(peak_rss_mib(), 1)
        batch.refresh_from_db()
        imported = Member.objects.filter(number__startswith="5").count()

        started, cpu = time.perf_counter(), time.process_time()
        services.batch_undo(batch=batch, actor=admin)
        undo_seconds, undo_cpu = time.perf_counter() - started, time.process_time() - cpu
        rss["undo"] = round(peak_rss_mib(), 1)
        left = Member.objects.filter(number__startswith="5").count()

        per_row_rate = self._per_row(per_row, admin) if per_row else None
        result = {
            "database": vendor,
            "members": members,
            "addresses": members * addresses_per_member,
            "rows": batch.total_rows,
            "file_mib": round(size_mib, 1),
            "errors": batch.error_count,
            "errors_planted": made_errors,
            "counts": {k: batch.counts[k] for k in ("member", "address", "status")},
            "members_imported": imported,
            "members_left_after_undo": left,
            "generate_seconds": round(generate_seconds, 1),
            "preview_seconds": round(preview_seconds, 1),
            "apply_seconds": round(apply_seconds, 1),
            "undo_seconds": round(undo_seconds, 1),
            "preview_cpu_seconds": round(preview_cpu, 1),
            "apply_cpu_seconds": round(apply_cpu, 1),
            "undo_cpu_seconds": round(undo_cpu, 1),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "peak_rss_mib": rss["undo"],
            "peak_rss_mib_after_step": rss,
            "per_row_orm_members_per_s": per_row_rate,
        }
        result["cpus"] = os.cpu_count()
        for key, value in result.items():
            self.stdout.write(f"{key}: {value}")
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _per_row(self, count: int, admin) -> float:
        """Members saved one by one (a lookup by number, full_clean, save): the shape of a row-by-row import."""
        office = SalesOffice.objects.first()
        started = time.perf_counter()
        with transaction.atomic():
            for i in range(count):
                number = f"{6000000 + i:07d}"
                Member.objects.filter(number=number).first()
                member = Member(
                    number=number,
                    registered_on=date(2025, 10, 1),
                    name=f"株式会社逐次{i}",
                    name_kana=f"チクジ{i}",
                    office=office,
                    biglobe_user_id=f"perrow{number}",
                )
                member.biglobe_password = f"Pr{i:07d}xQ"
                member.full_clean()
                member.save()
            rate = count / (time.perf_counter() - started)
            transaction.set_rollback(True)
        return round(rate, 1)
