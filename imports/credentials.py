"""The credential export: members and additional addresses with their passwords, for admins only, as an .xlsx
encrypted (ECMA-376 agile encryption, msoffcrypto-tool) with a password the admin types. Never plain CSV.

The workbook is built in write-only mode; encrypting needs the whole file at once, so this one export is held
in memory (about 60 bytes a row before compression) rather than streamed.
"""

from __future__ import annotations

import io

from django.core.exceptions import PermissionDenied
from django.db import transaction
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook

from efnet import audit
from efnet.scoping import members_visible_to
from imports.exports import export_columns, member_rows


@transaction.atomic
def credential_export(*, actor, reason: str, file_password: str) -> bytes:
    if not actor.is_admin:
        raise PermissionDenied
    book = Workbook(write_only=True)
    sheet = book.create_sheet("会員")
    sheet.append([c.header for c in export_columns(with_passwords=True)])
    count = 0
    for row in member_rows(members_visible_to(actor), with_passwords=True):
        sheet.append(row)  # every cell a string: member numbers keep their leading zeros
        count += 1
    plain = io.BytesIO()
    book.save(plain)
    plain.seek(0)
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt(file_password, encrypted)
    audit.record(
        "member.credentials.exported", actor=actor, details={"rows": count, "reason": reason[:200], "format": "xlsx"}
    )
    return encrypted.getvalue()
