"""EncryptedTextField: a model field whose stored text is AES-GCM ciphertext bound to its row.

The database value is decrypted lazily, on attribute access, because the associated data needs the row's
UUID, which ``from_db_value`` cannot see. Lists that never touch the attribute never decrypt anything.
Plaintext can only reach the database through ``pre_save`` (save, create, bulk_create); a plain string
handed straight to an UPDATE is refused rather than stored in clear.
"""

from __future__ import annotations

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from efnet import crypto


class Sealed(str):
    """Ciphertext as loaded from, or bound for, the database. Its repr never shows the text."""

    def __repr__(self) -> str:
        return "<Sealed>"


def _aad(instance: models.Model, field: EncryptedTextField) -> str:
    row_id = getattr(instance, field.row_id_field)
    if not row_id:
        raise ValueError(f"{type(instance).__name__}.{field.row_id_field} must be set before encrypting")
    return f"{instance._meta.db_table}.{field.column}.{row_id}"


def seal(model: type[models.Model], field_name: str, row_id, plaintext: str) -> str:
    """The stored form of ``plaintext`` in ``model.field_name`` of the row whose UUID is ``row_id`` (what
    ``pre_save`` would write), for writers that insert rows without model instances; "" stays ""."""
    if not plaintext:
        return ""
    column = model._meta.get_field(field_name).column
    return Sealed(crypto.encrypt(str(plaintext), aad=f"{model._meta.db_table}.{column}.{row_id}"))


class EncryptedAttribute(DeferredAttribute):
    """A data descriptor (it has __set__), so reads always pass through __get__ even when the instance
    dict holds the value; a plain DeferredAttribute would hand out the ciphertext unseen."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance, cls=None):
        value = super().__get__(instance, cls)
        if instance is None or not isinstance(value, Sealed):
            return value
        return crypto.decrypt(value, aad=_aad(instance, self.field))


class EncryptedTextField(models.TextField):
    descriptor_class = EncryptedAttribute

    def __init__(self, *args, row_id_field: str = "uuid", **kwargs):
        self.row_id_field = row_id_field
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        # Never offered by ModelForms or the admin: a form would render the plaintext as its initial value.
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        if self.row_id_field != "uuid":
            kwargs["row_id_field"] = self.row_id_field
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return Sealed(value)

    def raw_value(self, instance) -> str | None:
        """The stored form without decrypting (for rotation and tests)."""
        return instance.__dict__.get(self.attname)

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if value in (None, "") or isinstance(value, Sealed):
            return value
        sealed = Sealed(crypto.encrypt(str(value), aad=_aad(model_instance, self)))
        model_instance.__dict__[self.attname] = sealed
        return sealed

    def get_prep_value(self, value):
        if value in (None, "") or isinstance(value, Sealed):
            return None if value is None else str(value)
        if hasattr(value, "resolve_expression"):
            return value
        raise TypeError(f"{self.model.__name__}.{self.name}: refusing to write plaintext outside save()")

    def value_to_string(self, obj):
        # Serialisation (dumpdata) keeps the ciphertext, never the plaintext.
        return self.raw_value(obj) or ""

    def get_lookup(self, lookup_name):
        if lookup_name not in ("exact", "isnull", "in"):
            return None  # searching inside ciphertext means nothing
        return super().get_lookup(lookup_name)
