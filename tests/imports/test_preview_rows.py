"""The preview writes its ImportRow records as plain rows (no model instances): they must still match the table
and read back through the model as before."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from imports.models import ImportRow
from imports.preview import Row, is_mail_address
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member, preview


def test_a_preview_row_holds_every_column_of_import_row_but_the_id():
    assert len(Row._fields) == len(set(Row._fields))
    assert set(Row._fields) == {f.column for f in ImportRow._meta.concrete_fields} - {"id"}


def test_a_password_from_the_file_is_sealed_to_its_row(world):
    batch = preview(world.admin, csv_bytes([MEMBER_HEADERS, member("0010001", パスワード="Zq7Sealed01")]))

    row = ImportRow.objects.get(batch=batch, action="new")
    stored = ImportRow._meta.get_field("password").raw_value(row)
    assert stored.startswith("v1:") and "Zq7Sealed01" not in stored
    assert row.password == "Zq7Sealed01"
    assert row.values["biglobe_user_id"] and row.errors == [] and row.changes == [] and row.before is None


ADDRESSES = [
    "user@example.com",
    "a+tag@example.co.jp",
    "a@localhost",
    '"quoted user"@example.com',
    "x@[127.0.0.1]",
    "x@[::1]",
    "x@[999.1.1.1]",
    "ユーザー@例え.jp",
    "user@例え.jp",
    "a@b@c.jp",
    "a..b@example.com",
    ".a@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example.c",
    "a@example.com.",
    "a@xn--abc.jp",
    "a@ex_ample.com",
    "a@" + "b" * 64 + ".com",
    "x" * 320 + "@e.com",
    "a@e.com\n",
    "tab\t@e.com",
    "@e.com",
    "a@",
    "no-at-sign",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_mail_address_is_accepted_exactly_when_djangos_validator_accepts_it(address):
    try:
        EmailValidator()(address)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert is_mail_address(address) is accepted
