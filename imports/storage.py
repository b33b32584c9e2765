"""The uploaded file, kept only encrypted: the documents batch storage (AES-GCM records under a random per-file
key, the key itself encrypted in the batch row), in a folder of its own."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings

from documents import storage as encrypted

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def files_dir() -> Path:
    path = Path(settings.EFNET_FILES_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def store(batch, chunks: Iterable[bytes]) -> int:
    """Encrypt ``chunks`` into the batch's file; sets ``stored_name`` and ``file_key`` (caller saves)."""
    batch.file_key = encrypted.new_key()
    batch.stored_name = f"import-{batch.uuid}.bin"
    writer = encrypted.EncryptedWriter(files_dir() / batch.stored_name, key=batch.file_key, file_id=str(batch.uuid))
    try:
        for chunk in chunks:
            writer.write(chunk)
            if writer.tell() > MAX_UPLOAD_BYTES:
                raise ValueError("too large")
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def read(batch) -> Iterator[bytes]:
    return encrypted.read_decrypted(files_dir() / batch.stored_name, key=batch.file_key, file_id=str(batch.uuid))


def read_all(batch) -> bytes:
    return b"".join(read(batch))


def delete(batch) -> None:
    if batch.stored_name:
        (files_dir() / batch.stored_name).unlink(missing_ok=True)
