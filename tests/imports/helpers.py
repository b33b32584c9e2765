"""Building office-style files for the import tests."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from imports import services
from imports.models import ImportBatch

MEMBER_HEADERS = [
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
]


def csv_bytes(rows: list[list], *, encoding: str = "cp932") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def member(number: str, name: str = "株式会社テスト", **overrides) -> list:
    values = {
        "会員番号": number,
        "登録者名": name,
        "フリガナ": "ｶﾌﾞｼｷｶﾞｲｼｬﾃｽﾄ",
        "郵便番号": "5400001",
        "住所": "大阪府大阪市中央区本町1-2-3",
        "電話": "06-6000-0000",
        "FAX": "",
        "営業所": "大阪",
        "会員登録日": "令和7年10月1日",
        "ユーザーID": f"imp{number}",
        "パスワード": f"Pw{number}xyZ",
        "メールアドレス": f"imp{number}@efnet-demo.example",
    }
    values.update(overrides)
    return [values[h] for h in MEMBER_HEADERS]


def upload(actor, data: bytes, *, name: str = "members.csv", encoding: str = "") -> ImportBatch:
    return services.batch_upload(actor=actor, uploaded_file=SimpleUploadedFile(name, data), encoding=encoding)


def preview(actor, data: bytes, *, name: str = "members.csv", mapping: dict | None = None, **kwargs) -> ImportBatch:
    """Upload and build the preview (tasks run inline in tests)."""
    batch = upload(actor, data, name=name, **kwargs)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.batch_map_columns(batch=batch, actor=actor, mapping=mapping or {})
    batch.refresh_from_db()
    return batch


def apply(actor, batch: ImportBatch, *, skip_errors: bool = False) -> ImportBatch:
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.batch_confirm(batch=batch, actor=actor, skip_errors=skip_errors)
    batch.refresh_from_db()
    return batch
