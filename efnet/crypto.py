"""Encryption of stored credentials (AES-256-GCM).

Stored form: ``v1:<key id>:<base64(nonce || ciphertext+tag)>``. The associated data binds a value to its
table, column and row (the row's UUID), so a ciphertext copied into another row or column fails to
decrypt. Keys come from settings.FIELD_ENCRYPTION_KEYS as ``<key id>:<urlsafe base64 of 32 bytes>``; the
first one encrypts, all of them decrypt (rotation).
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "v1"


class DecryptionError(Exception):
    """A stored value could not be decrypted. Never carries the stored text."""


def _decode_key(key_id: str, material: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(material + "=" * (-len(material) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {key_id!r} is not base64") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {key_id!r} must be 32 bytes (AES-256)")
    return raw


@lru_cache(maxsize=8)
def _parse_keys(spec: tuple[str, ...]) -> tuple[str, dict[str, AESGCM]]:
    if not spec:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: stored credentials cannot be protected")
    keys: dict[str, AESGCM] = {}
    order: list[str] = []
    for entry in spec:
        key_id, sep, material = entry.strip().partition(":")
        if not sep or not key_id or ":" in material:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS entries look like '<key id>:<base64 key>'")
        if key_id in keys:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key id {key_id!r} given twice")
        keys[key_id] = AESGCM(_decode_key(key_id, material))
        order.append(key_id)
    return order[0], keys


def keyring() -> tuple[str, dict[str, AESGCM]]:
    return _parse_keys(tuple(settings.FIELD_ENCRYPTION_KEYS))


def current_key_id() -> str:
    return keyring()[0]


def generate_key(key_id: str) -> str:
    """A new key in the settings format, for operators (see the README)."""
    return f"{key_id}:{base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def key_id_of(stored: str) -> str:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION:
        raise DecryptionError("stored value is not in the encrypted format")
    return parts[1]


def encrypt(plaintext: str, *, aad: str) -> str:
    key_id, keys = keyring()
    nonce = os.urandom(12)
    sealed = keys[key_id].encrypt(nonce, plaintext.encode("utf-8"), aad.encode("utf-8"))
    return f"{VERSION}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, *, aad: str) -> str:
    key_id = key_id_of(stored)
    _, keys = keyring()
    aes = keys.get(key_id)
    if aes is None:
        raise DecryptionError(f"no key with id {key_id!r} is configured")
    try:
        blob = base64.b64decode(stored.split(":", 2)[2], validate=True)
        return aes.decrypt(blob[:12], blob[12:], aad.encode("utf-8")).decode("utf-8")
    except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
        # Wrong key, tampered text, or a value copied from another row: all refuse the same way.
        raise DecryptionError(f"value under key {key_id!r} failed authentication") from None
