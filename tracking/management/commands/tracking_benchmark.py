"""Time the dashboard's queries on a large synthetic membership, then throw the data away.

    manage.py tracking_benchmark --members 100000

Everything is created inside one transaction that is rolled back at the end, so the database is left as it
was (run it on a development or scratch database all the same: it takes write locks while it runs).
On a scratch database, ``--keep`` commits the data and ``--reuse`` measures it again without re-creating."""

from __future__ import annotations

import datetime
import random
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from efnet.models import User
from members.models import Member, SalesOffice
from tracking.models import AccountStatus, Campaign, Status

CAMPAIGN = "計測用キャンペーン"


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "ダッシュボードの集計を大量データで計測します（データは最後に取り消します）。"

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=100_000)
        parser.add_argument("--keep", action="store_true", help="データを残す（計測専用のデータベースで）")
        parser.add_argument("--reuse", action="store_true", help="残したデータで計測だけ行う")

    def handle(self, *args, members: int, keep: bool, reuse: bool, **options):
        if reuse:
            self._measure(Campaign.objects.get(name=CAMPAIGN))
            return
        try:
            with transaction.atomic():
                campaign = self._create(members)
                self._measure(campaign)
                if not keep:
                    raise Rollback
        except Rollback:
            self.stdout.write("計測用のデータは取り消しました。")

    def _create(self, n: int):
        rng = random.Random(1)
        offices = list(SalesOffice.objects.all())
        start = time.perf_counter()
        # Rows are written directly (no encryption cost measured here: the password column is not read).
        Member.objects.bulk_create(
            [
                Member(
                    number=f"9{i:08d}",
                    registered_on=datetime.date(2024, 1, 1),
                    name=f"計測用会員{i}",
                    name_kana=f"ケイソクヨウ{i}",
                    office=offices[i % len(offices)],
                    biglobe_user_id=f"bench{i:08d}",
                    biglobe_password=f"Bench{i:06d}pw",
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        campaign = Campaign.objects.create(name=CAMPAIGN, started_on=datetime.date(2026, 6, 1))
        ids = list(Member.objects.filter(number__startswith="9").values_list("pk", flat=True))
        statuses = list(Status)
        AccountStatus.objects.bulk_create(
            [
                AccountStatus(
                    campaign=campaign,
                    member_id=pk,
                    status=(s := rng.choice(statuses)),
                    status_on=datetime.date(2026, 6, 1) + datetime.timedelta(days=rng.randint(0, 90))
                    if s == Status.DONE
                    else None,
                )
                for pk in ids
            ],
            batch_size=2000,
        )
        self.stdout.write(f"{n}名・{n}アカウントを作成：{time.perf_counter() - start:.1f}秒")
        return campaign

    def _measure(self, campaign):
        from tracking import selectors

        offices = list(SalesOffice.objects.all())
        n = AccountStatus.objects.filter(campaign=campaign).count()
        self.stdout.write(f"{connection.vendor}: {n}アカウント")
        head = User(username="bench-head", is_superuser=True)  # unsaved: an admin sees every office
        clerk = User(username="bench-clerk", office=offices[0])
        for label, call in [
            ("営業所ユーザーの集計", lambda: selectors.dashboard_rows(user=clerk, campaign=campaign)),
            ("営業所別の集計（dashboard_rows）", lambda: selectors.dashboard_rows(user=head, campaign=campaign)),
            ("完了の推移（completion_series）", lambda: selectors.completion_series(user=head, campaign=campaign)),
            (
                "待っている会員 先頭20名",
                lambda: selectors.waiting_members(user=head, campaign=campaign),
            ),
            (
                "会員一覧（未完了）件数＋1ページ目50名",
                lambda: (
                    selectors.filter_member_state(
                        selectors.member_states(user=head, campaign=campaign), "未完了"
                    ).count(),
                    selectors.hydrate(
                        selectors.filter_member_state(
                            selectors.member_states(user=head, campaign=campaign), "未完了"
                        ).order_by("member__number")[:50]
                    ),
                ),
            ),
        ]:
            with CaptureQueriesContext(connection) as queries:
                t, cpu = time.perf_counter(), time.process_time()
                call()
                elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
            # CPU time of this process (which includes SQLite's work) is steadier than wall time on a busy machine.
            self.stdout.write(f"{label}: {elapsed * 1000:.0f} ms（CPU {cpu * 1000:.0f} ms）, {len(queries)} クエリ")
