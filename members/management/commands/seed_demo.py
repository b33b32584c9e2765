from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from members.demo import generate


class Command(BaseCommand):
    help = "架空のデモデータ（会員・追加メールアドレス・状況・デモユーザー）を作成します。"

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="会員が1件でもあれば何もしない")
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="DEBUG=0 でも作成する（本番ではないことが確かな検証環境のみ）",
        )

    def handle(self, *args, members, seed, if_empty, not_production, **options):
        from members.models import Member

        # Demo users share one known password and their TOTP secrets follow from the seed: in production they
        # would be accounts anyone who has read this code can log in to. The demo mode (`make run`, EFNET_DEMO=1)
        # runs with DEBUG off on generated keys and is, by its settings, not production.
        if not (settings.DEBUG or settings.DEMO or not_production):
            raise CommandError(
                "デモデータは開発環境（DEBUG=1）とデモ（EFNET_DEMO=1）でのみ作成できます。デモユーザーのパスワードと二段階認証の鍵は"
                "公開されているため、本番環境では作成しません。本番ではないことが確かな場合だけ "
                "--i-know-this-is-not-production を付けて実行してください。\n"
                "Refusing to load demo data outside development (DEBUG=1) and the demo (EFNET_DEMO=1): "
                "the demo users' password and TOTP secrets are known. "
                "Pass --i-know-this-is-not-production only where this is certainly not production."
            )
        generate.ensure_demo_fax_numbers()  # also on a database that has its members already
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
