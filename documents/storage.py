"""Encrypted files: batch PDFs waiting for download, and received FAX pages kept as evidence.

A file is a sequence of records ``[4-byte length][12-byte nonce][AES-256-GCM ciphertext + tag]``. Each record's
associated data names the batch, the record's position and whether it is the last one, so records cannot be
reordered, swapped between files, or cut off without the download failing. Writing and reading go record by
record: memory stays flat however big the batch is. The key is random per file and is kept (encrypted) in
the BatchJob row, so deleting the row alone makes a forgotten file unreadable.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

RECORD_SIZE = 1024 * 1024
_HEADER = struct.Struct(">I")


class CorruptFileError(Exception):
    """The file was tampered with, truncated, or belongs to another batch."""


def files_dir(area: str = "documents") -> Path:
    """The private folder of one kind of file (``documents`` for batch PDFs, ``faxreplies`` for FAX pages)."""
    path = Path(settings.EFNET_FILES_DIR) / area
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _aad(file_id: str, index: int, last: bool) -> bytes:
    return f"efnet-batch:{file_id}:{index}:{int(last)}".encode()


class EncryptedWriter:
    """A write-only binary stream (enough for zipfile) that encrypts into ``path`` record by record."""

    def __init__(self, path: Path, *, key: str, file_id: str):
        self.path = path
        self._aes = AESGCM(base64.b64decode(key))
        self._file_id = file_id
        self._buffer = bytearray()
        self._index = 0
        self._written = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._out = os.fdopen(fd, "wb")

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
        nonce = os.urandom(12)
        sealed = self._aes.encrypt(nonce, plain, _aad(self._file_id, self._index, last))
        self._out.write(_HEADER.pack(len(sealed)) + nonce + sealed)
        self._index += 1

    def close(self) -> int:
        """Seal the last record; returns the plaintext size."""
        if self._out.closed:
            return self._written
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._out.close()
        return self._written

    def abort(self) -> None:
        if not self._out.closed:
            self._out.close()
        self.path.unlink(missing_ok=True)


def read_decrypted(path: Path, *, key: str, file_id: str) -> Iterator[bytes]:
    """Yield the plaintext record by record; raises CorruptFileError on any tampering or truncation."""
    aes = AESGCM(base64.b64decode(key))
    index = 0
    with open(path, "rb") as stream:
        while True:
            header = stream.read(_HEADER.size)
            if not header:
                raise CorruptFileError("file ends before its last record")
            (length,) = _HEADER.unpack(header)
            nonce = stream.read(12)
            sealed = stream.read(length)
            if len(sealed) != length:
                raise CorruptFileError("truncated record")
            at_end = stream.peek(1)[:1] == b"" if hasattr(stream, "peek") else False
            try:
                plain = aes.decrypt(nonce, sealed, _aad(file_id, index, at_end))
            except Exception:
                raise CorruptFileError("record failed authentication") from None
            yield plain
            if at_end:
                return
            index += 1
