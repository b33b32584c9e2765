"""Encrypted files in the database: batch PDFs waiting for download, received FAX pages kept as evidence, and
any other short-lived file a web process and a worker (possibly on different machines) both need.

The database is the one store every web server and worker already shares, so a file written by a worker on
one machine is downloaded through a web server on another without a shared folder. A file is a sequence of
``StoredRecord`` rows, one per record of up to 1 MiB: ``[12-byte nonce][AES-256-GCM ciphertext + tag]``. Each
record's associated data names the file (the batch, the page), the record's position and whether it is the
last one, so records cannot be reordered, swapped between files, or cut off without the read failing. Writing
and reading go record by record: memory stays flat however big the file is. The key is random per file and is
kept (encrypted with the field keys) in the row that owns the file, so deleting that row alone makes a
forgotten file unreadable.

The API, by file name within an area (``documents``, ``faxreplies``, …; names are unique within an area):
``EncryptedWriter(area=…, name=…, key=…, file_id=…)`` (write, close, abort), ``read_decrypted(…)``,
``delete(area=…, name=…)``, ``delete_orphans(area=…, keep=…, before=…)``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents.models import StoredRecord

RECORD_SIZE = 1024 * 1024
NONCE_SIZE = 12


class CorruptFileError(Exception):
    """The file was tampered with, truncated, or belongs to another owner."""


class MissingFileError(CorruptFileError, FileNotFoundError):
    """No record of the file exists (deleted, expired, or never written)."""


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _aad(file_id: str, index: int, last: bool) -> bytes:
    return f"efnet-batch:{file_id}:{index}:{int(last)}".encode()


class EncryptedWriter:
    """A write-only binary stream (enough for zipfile) that encrypts into the database record by record.

    Each record is inserted as it is sealed, in the caller's transaction if there is one (a FAX upload whose
    transaction rolls back leaves nothing), otherwise committed at once (a batch's file grows while it renders).
    """

    def __init__(self, *, area: str, name: str, key: str, file_id: str):
        if not area or not name:
            raise ValueError("a stored file needs an area and a name")
        self.area, self.name = area, name
        self._aes = AESGCM(base64.b64decode(key))
        self._file_id = file_id
        self._buffer = bytearray()
        self._index = 0
        self._written = 0
        self._closed = False
        delete(area=area, name=name)  # writing a name again replaces the file, as opening with O_TRUNC did

    # zipfile asks these of a non-seekable stream.
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def write(self, data) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) > RECORD_SIZE:
            self._seal(bytes(self._buffer[:RECORD_SIZE]), last=False)
            del self._buffer[:RECORD_SIZE]
        return len(data)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aes.encrypt(nonce, plain, _aad(self._file_id, self._index, last))
        StoredRecord.objects.create(area=self.area, name=self.name, index=self._index, last=last, data=nonce + sealed)
        self._index += 1

    def close(self) -> int:
        """Seal the last record; returns the plaintext size."""
        if self._closed:
            return self._written
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._closed = True
        return self._written

    def abort(self) -> None:
        self._closed = True
        self._buffer.clear()
        delete(area=self.area, name=self.name)


def read_decrypted(*, area: str, name: str, key: str, file_id: str) -> Iterator[bytes]:
    """Yield the plaintext record by record (one query each: memory stays flat); raises CorruptFileError on any
    tampering or truncation, MissingFileError when the file is not there at all."""
    aes = AESGCM(base64.b64decode(key))
    index = 0
    while True:
        row = StoredRecord.objects.filter(area=area, name=name, index=index).values_list("last", "data").first()
        if row is None:
            if index == 0:
                raise MissingFileError(f"no stored file {area}/{name}")
            raise CorruptFileError("file ends before its last record")
        last, data = row[0], bytes(row[1])
        try:
            plain = aes.decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], _aad(file_id, index, last))
        except Exception:
            raise CorruptFileError("record failed authentication") from None
        yield plain
        if last:
            return
        index += 1


def exists(*, area: str, name: str) -> bool:
    return bool(name) and StoredRecord.objects.filter(area=area, name=name).exists()


def delete(*, area: str, name: str) -> int:
    """Delete a file's records; returns how many records went."""
    if not name:
        return 0
    deleted, _ = StoredRecord.objects.filter(area=area, name=name).delete()
    return deleted


def delete_orphans(*, area: str, keep: Iterable[str], before: datetime) -> int:
    """Delete the files of an area that no row names any more (a worker that died mid-write, an owner row
    deleted), if written before ``before`` (a file being written right now has no owner row yet). Returns how
    many files went."""
    keep = set(keep)
    names = set(StoredRecord.objects.filter(area=area, index=0, created_at__lt=before).values_list("name", flat=True))
    orphans = names - keep
    for name in orphans:
        delete(area=area, name=name)
    return len(orphans)
