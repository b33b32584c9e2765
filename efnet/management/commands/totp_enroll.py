import qrcode
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from efnet.models import User


class Command(BaseCommand):
    help = "スタッフの認証アプリ（TOTP）を登録し、読み取り用のQRコードを表示します。既存の登録は置き換えます。"

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"ユーザー {username} はいません。")
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="認証アプリ", confirmed=True)
        code = qrcode.QRCode(border=1)
        code.add_data(device.config_url)
        code.print_ascii(out=self.stdout, invert=True)
        self.stdout.write(f"{username} の認証アプリを登録しました。上のQRコードを認証アプリで読み取ってください。")
