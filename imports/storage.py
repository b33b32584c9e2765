"""The uploaded file, kept only encrypted: the documents storage (AES-GCM records under a random per-file key,
the key itself encrypted in the batch row), in the database where web and workers on other machines both reach
it, under an area of its own."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from documents import storage as encrypted

AREA = "imports"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def store(batch, chunks: Iterable[bytes]) -> int:
    """Encrypt ``chunks`` into the batch's file; sets ``stored_name`` and ``file_key`` (caller saves)."""
    batch.file_key = encrypted.new_key()
    batch.stored_name = f"import-{batch.uuid}.bin"
    writer = encrypted.EncryptedWriter(area=AREA, name=batch.stored_name, key=batch.file_key, file_id=str(batch.uuid))
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
    return encrypted.read_decrypted(area=AREA, name=batch.stored_name, key=batch.file_key, file_id=str(batch.uuid))


def read_all(batch) -> bytes:
    return b"".join(read(batch))


def exists(batch) -> bool:
    return encrypted.exists(area=AREA, name=batch.stored_name)


def delete(batch) -> None:
    if batch.stored_name:
        encrypted.delete(area=AREA, name=batch.stored_name)
