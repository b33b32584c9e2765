from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from efnet import backup


class Command(BaseCommand):
    help = (
        "データベースのバックアップを作成します（gzip圧縮: PostgreSQLは pg_dump のSQL、SQLiteはファイルの複製）。"
        "鍵（SECRET_KEY, FIELD_ENCRYPTION_KEYS）は含まれません。別に保管してください。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, type=Path, help="書き出すファイル（例: efnet-20260701.sql.gz）")

    def handle(self, *args, output, **options):
        try:
            result = backup.backup(output)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"backup written: {output} ({result['kind']}, {result['bytes']:,} bytes; no key material found in it)"
        )
