from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "開発環境・デモ専用: デモユーザーの現在の確認コード（TOTP）を表示します。"

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        # Development and the demo (`make run`, whose login page tells how to get the code) only.
        if not (settings.DEBUG or settings.DEMO):
            raise CommandError("本番環境では使えません。認証アプリのコードを使ってください。")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} の認証デバイスがありません。")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
