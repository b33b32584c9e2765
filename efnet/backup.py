"""Backup and restore of the database (``manage.py backup`` / ``manage.py restore``).

A backup is the database alone, gzip-compressed: a plain SQL dump from ``pg_dump`` (PostgreSQL) or a copy of
the file through SQLite's online backup API (the embedded default). It holds the passwords only as their
AES-GCM ciphertexts and no key: ``SECRET_KEY`` and ``FIELD_ENCRYPTION_KEYS`` live in the environment, and the
backup is scanned for them (as text, base64 and hex) while it is written; a backup that contains one is
deleted and the command fails. Keep the keys apart from the backups (a password manager, a sealed envelope):
a backup without its keys is unreadable, and one with them is every member's password.

A restore goes into an empty database only, then decrypts every encrypted value with the configured keys and
prints the counts. If any value does not decrypt (the wrong keys), the restored data is removed again and the
command fails: a portal started on it would refuse every password anyway, never show garbage.
"""

from __future__ import annotations

import base64
import gzip
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.db import connection

from efnet import crypto

SQLITE_MAGIC = b"SQLite format 3\x00"
CHUNK = 1024 * 1024


class BackupError(Exception):
    pass


def key_needles() -> dict[str, bytes]:
    """What a backup must never contain: each secret as text, and each field key's bytes as base64 (both
    alphabets) and hex (how PostgreSQL dumps bytea). Named without the secret itself."""
    needles = {"SECRET_KEY": settings.SECRET_KEY.encode()}
    for entry in settings.FIELD_ENCRYPTION_KEYS:
        key_id, _, text = entry.partition(":")
        needles[f"field key {key_id} (as configured)"] = text.encode()
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            continue
        needles[f"field key {key_id} (base64)"] = base64.b64encode(raw).rstrip(b"=")
        needles[f"field key {key_id} (base64url)"] = base64.urlsafe_b64encode(raw).rstrip(b"=")
        needles[f"field key {key_id} (hex)"] = raw.hex().encode()
        needles[f"field key {key_id} (bytes)"] = raw
    return {name: value for name, value in needles.items() if len(value) >= 16}


class _ScanningGzipWriter:
    """Compresses into ``path`` and remembers which needles went through (across chunk boundaries too)."""

    def __init__(self, path: Path, needles: dict[str, bytes]):
        self.needles = needles
        self.keep = max((len(n) for n in needles.values()), default=1) - 1
        self.tail = b""
        self.found: set[str] = set()
        self.out = gzip.open(path, "wb", compresslevel=6)  # noqa: SIM115  (closed in close)

    def write(self, data: bytes) -> None:
        window = self.tail + data
        window_lower = window.lower()
        for name, needle in self.needles.items():
            if needle in window or (name.endswith("(hex)") and needle.lower() in window_lower):
                self.found.add(name)
        self.tail = window[-self.keep :] if self.keep else b""
        self.out.write(data)

    def close(self) -> None:
        self.out.close()


def backup(output: Path) -> dict:
    """Write the backup to ``output`` (via a temporary file beside it, so a failed run leaves no half file)."""
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    writer = _ScanningGzipWriter(partial, key_needles())
    try:
        if connection.vendor == "postgresql":
            kind = "postgresql"
            _pg_dump_into(writer)
        elif connection.vendor == "sqlite":
            kind = "sqlite"
            _sqlite_copy_into(writer)
        else:
            raise BackupError(f"no backup for the {connection.vendor} database")
        writer.close()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    if writer.found:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup contained key material ({', '.join(sorted(writer.found))}); it was deleted")
    os.chmod(partial, 0o600)
    partial.replace(output)
    return {"kind": kind, "bytes": output.stat().st_size}


def _pg_env() -> dict:
    s = connection.settings_dict
    env = {**os.environ, "PGDATABASE": s["NAME"], "PGCONNECT_TIMEOUT": "10"}
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if s.get(key):
            env[var] = str(s[key])
    return env


def _pg_dump_into(writer) -> None:
    process = subprocess.Popen(
        ["pg_dump", "--format=plain", "--no-owner", "--no-privileges", "--quote-all-identifiers"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_pg_env(),
    )
    while chunk := process.stdout.read(CHUNK):
        writer.write(chunk)
    errors = process.stderr.read().decode(errors="replace")
    if process.wait() != 0:
        raise BackupError(f"pg_dump failed: {errors.strip()}")


def _sqlite_copy_into(writer) -> None:
    connection.ensure_connection()
    with tempfile.TemporaryDirectory(prefix="efnet-backup-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        target = sqlite3.connect(copy)
        try:
            connection.connection.backup(target)  # consistent, while others keep writing
        finally:
            target.close()
        with open(copy, "rb") as source:
            while chunk := source.read(CHUNK):
                writer.write(chunk)


# --- restore ----------------------------------------------------------------------------------------------------


def database_is_empty() -> bool:
    return not connection.introspection.table_names()


def restore(backup_file: Path) -> None:
    """Load ``backup_file`` into the configured database, which must be empty."""
    with gzip.open(backup_file, "rb") as source:
        head = source.read(len(SQLITE_MAGIC))
    if not database_is_empty():
        raise BackupError(
            f"the database {connection.settings_dict['NAME']} is not empty: restore into a new, empty database"
        )
    if head == SQLITE_MAGIC:
        if connection.vendor != "sqlite":
            raise BackupError("this is a backup of an SQLite database; the configured database is not SQLite")
        _sqlite_restore(backup_file)
    else:
        if connection.vendor != "postgresql":
            raise BackupError("this is a PostgreSQL backup; the configured database is not PostgreSQL")
        _pg_restore(backup_file)


def _pg_restore(backup_file: Path) -> None:
    connection.close()
    process = subprocess.Popen(
        ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--output=/dev/null"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_pg_env(),
    )
    try:
        with gzip.open(backup_file, "rb") as source:
            shutil.copyfileobj(source, process.stdin, CHUNK)
        process.stdin.close()
    except BrokenPipeError:
        pass
    errors = process.stderr.read().decode(errors="replace")
    if process.wait() != 0:
        raise BackupError(f"psql refused the backup (nothing was restored): {errors.strip()[:2000]}")


def _sqlite_restore(backup_file: Path) -> None:
    name = Path(connection.settings_dict["NAME"])
    connection.close()
    partial = name.with_name(name.name + ".partial")
    with gzip.open(backup_file, "rb") as source, open(partial, "wb") as target:
        shutil.copyfileobj(source, target, CHUNK)
    for suffix in ("-wal", "-shm"):  # an empty database's leftovers must not be replayed over the copy
        Path(f"{name}{suffix}").unlink(missing_ok=True)
    partial.replace(name)


def discard_restored() -> None:
    """Empty the database again (it was empty before the restore)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        name = Path(connection.settings_dict["NAME"])
        connection.close()
        name.unlink(missing_ok=True)


def verify_decryption() -> tuple[dict[str, int], dict[str, Counter]]:
    """Decrypt every stored encrypted value with the configured keys. Returns (values that decrypted per
    "app.Model.field", failures per field by reason); never returns or prints a plaintext."""
    from efnet.fields import _aad
    from efnet.rotation import encrypted_fields

    ok: dict[str, int] = {}
    failed: dict[str, Counter] = {}
    for model, field in encrypted_fields():
        label = f"{model._meta.label}.{field.name}"
        ok[label] = 0
        rows = model.objects.only("pk", field.row_id_field, field.attname).exclude(**{field.attname: ""})
        for row in rows.exclude(**{f"{field.attname}__isnull": True}).iterator(chunk_size=1000):
            stored = field.raw_value(row)
            try:
                crypto.decrypt(stored, aad=_aad(row, field))
            except crypto.DecryptionError as exc:
                reason = "no such key id" if "no key with id" in str(exc) else "failed authentication"
                failed.setdefault(label, Counter())[f"{reason} ({crypto.key_id_of(stored)})"] += 1
            else:
                ok[label] += 1
    return ok, failed
