from django.core.management.base import BaseCommand

from efnet import crypto
from efnet.rotation import key_counts, rotate


class Command(BaseCommand):
    help = (
        "保存されたパスワードを現在の鍵（FIELD_ENCRYPTION_KEYS の先頭）で再暗号化します。"
        "中断しても、再実行すれば続きから処理します。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--max-rows", type=int, default=None, help="この件数を見たら止める（少しずつ進める場合）")
        parser.add_argument("--dry-run", action="store_true", help="鍵ごとの件数を表示するだけ")

    def handle(self, *args, batch_size, max_rows, dry_run, **options):
        current = crypto.current_key_id()
        self.stdout.write(f"現在の鍵: {current}")
        self._report("実行前", key_counts())
        if dry_run:
            return
        done = rotate(batch_size=batch_size, max_rows=max_rows)
        moved = ", ".join(f"{k}: {n}" for k, n in sorted(done.items())) or "なし"
        self.stdout.write(f"再暗号化した件数（元の鍵別）: {moved}")
        after = key_counts()
        self._report("実行後", after)
        remaining = sum(n for counts in after.values() for k, n in counts.items() if k != current)
        if remaining:
            self.stdout.write(self.style.WARNING(f"古い鍵の値が {remaining} 件残っています。再実行してください。"))
        else:
            self.stdout.write(self.style.SUCCESS("すべての値が現在の鍵で暗号化されています。"))

    def _report(self, label, counts):
        for name, per_key in counts.items():
            text = ", ".join(f"{k}: {n}" for k, n in sorted(per_key.items())) or "0"
            self.stdout.write(f"  {label} {name}: {text}")
