"""The preview writes its ImportRow records as plain rows (no model instances): they must still match the table
and read back through the model as before."""

from imports.models import ImportRow
from imports.preview import Row
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
