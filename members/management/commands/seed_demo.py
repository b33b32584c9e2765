from django.core.management.base import BaseCommand

from members.demo import generate


class Command(BaseCommand):
    help = "架空のデモデータ（会員・追加メールアドレス・状況・デモユーザー）を作成します。"

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="会員が1件でもあれば何もしない")

    def handle(self, *args, members, seed, if_empty, **options):
        from members.models import Member

        if if_empty and Member.objects.exists():
            self.stdout.write("会員データがあるため、デモデータは作成しませんでした。")
            return
        counts = generate.seed(members=members, seed=seed, stdout=self.stdout)
        self.stdout.write(
            f"会員 {counts['members']:,} 件、追加メールアドレス {counts['addresses']:,} 件、"
            f"状況 {counts['statuses']:,} 件を作成しました（{counts['seconds']} 秒）。"
        )
        for username, display in counts["users_created"]:
            self.stdout.write(f"  デモユーザー {username}（{display}） パスワード: {generate.DEMO_PASSWORD}")
