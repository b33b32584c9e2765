"""Re-encrypting every stored credential under the current key (key rotation)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from django.apps import apps
from django.db import transaction

from efnet import crypto
from efnet.fields import EncryptedTextField, Sealed, _aad


def encrypted_fields() -> Iterator[tuple[type, EncryptedTextField]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def key_counts() -> dict[str, Counter]:
    """Per "app.Model.field": how many stored values sit under each key id (values only, never decrypted)."""
    result = {}
    for model, field in encrypted_fields():
        counts: Counter = Counter()
        for stored in model.objects.exclude(**{field.attname: ""}).values_list(field.attname, flat=True).iterator():
            if stored:
                counts[crypto.key_id_of(stored)] += 1
        result[f"{model._meta.label}.{field.name}"] = counts
    return result


def rotate(*, batch_size: int = 500, max_rows: int | None = None) -> Counter:
    """Re-encrypt values not under the current key, batch by batch, each batch in its own transaction.

    Safe to interrupt and to run again: progress lives in the data (a value already under the current key
    is skipped), and each row is updated only if it still holds the ciphertext that was read, so a
    concurrent edit is never overwritten. Returns counts of re-encrypted values by their old key id.
    """
    current = crypto.current_key_id()
    done: Counter = Counter()
    budget = max_rows
    for model, field in encrypted_fields():
        last_pk = None
        while budget is None or budget > 0:
            qs = model.objects.order_by("pk").only("pk", field.row_id_field, field.attname)
            qs = qs.exclude(**{field.attname: ""}).exclude(**{f"{field.attname}__isnull": True})
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            rows = list(qs[: batch_size if budget is None else min(batch_size, budget)])
            if not rows:
                break
            with transaction.atomic():
                for row in rows:
                    stored = field.raw_value(row)
                    old_key = crypto.key_id_of(stored)
                    if old_key == current:
                        continue
                    plaintext = crypto.decrypt(stored, aad=_aad(row, field))
                    fresh = Sealed(crypto.encrypt(plaintext, aad=_aad(row, field)))
                    updated = model.objects.filter(pk=row.pk, **{field.attname: Sealed(stored)}).update(
                        **{field.attname: fresh}
                    )
                    if updated:
                        done[old_key] += 1
            last_pk = rows[-1].pk
            if budget is not None:
                budget -= len(rows)
    return done
