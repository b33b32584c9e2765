from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from efnet import backup


class Command(BaseCommand):
    help = (
        "バックアップを空のデータベースに復元し、暗号化された値がすべて設定された鍵で復号できることを確かめます。"
        "復号できない値があれば、復元したデータを消して失敗します。"
    )

    def add_arguments(self, parser):
        parser.add_argument("backup_file", nargs="?", type=Path)
        parser.add_argument(
            "--verify-only", action="store_true", help="復元せず、今のデータベースの値が復号できるかだけ確かめる"
        )

    def handle(self, *args, backup_file, verify_only, **options):
        if not verify_only:
            if backup_file is None or not backup_file.is_file():
                raise CommandError("the backup file to restore is missing")
            try:
                backup.restore(backup_file)
            except backup.BackupError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"restored {backup_file}")
        ok, failed = backup.verify_decryption()
        for label, count in ok.items():
            line = f"  {label}: {count} decrypted"
            if label in failed:
                line += " — NOT DECRYPTED: " + ", ".join(f"{n} {why}" for why, n in sorted(failed[label].items()))
            self.stdout.write(line)
        bad = sum(sum(c.values()) for c in failed.values())
        if bad:
            if not verify_only:
                backup.discard_restored()
            raise CommandError(
                f"{bad} encrypted values do not decrypt with the configured FIELD_ENCRYPTION_KEYS: these are not "
                "the keys of the installation that made the backup."
                + ("" if verify_only else " The restored data was removed again; restore with the right keys.")
            )
        self.stdout.write(f"all {sum(ok.values())} encrypted values decrypt with the configured keys")
