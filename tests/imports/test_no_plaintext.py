"""A password from an imported file is never stored or sent in clear: not in any table, log line, audit event,
Celery message, stored upload or error file."""

import logging
from unittest import mock

from django.db import connection
from django.test import TestCase

from documents.models import StoredRecord
from imports import exports, services, storage
from imports.models import ImportBatch
from tests.imports.helpers import MEMBER_HEADERS, csv_bytes, member, upload

PASSWORDS = ["Zq7Imported1", "Zq7Imported2", "Zq7Broken999"]


def every_table_text() -> str:
    """All rows of all tables, as the database returns them."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            dump.append(repr(cursor.fetchall()))
    return "\n".join(dump)


def test_no_imported_password_appears_in_clear_anywhere(world, caplog, settings):
    caplog.set_level(logging.DEBUG)
    data = csv_bytes(
        [
            MEMBER_HEADERS,
            member("0010001", パスワード=PASSWORDS[0]),
            member("0010002", パスワード=PASSWORDS[1]),
            member("0010003", パスワード=PASSWORDS[2], 営業所="大坂"),  # an error row keeps its cells
        ]
    )
    sent = []
    from imports import tasks

    real_delay = {name: getattr(tasks, name).delay for name in ("preview_batch", "apply_batch")}

    def recording(name):
        def delay(*args, **kwargs):
            sent.append((name, args, kwargs))
            return real_delay[name](*args, **kwargs)

        return delay

    with (
        mock.patch.object(tasks.preview_batch, "delay", recording("preview_batch")),
        mock.patch.object(tasks.apply_batch, "delay", recording("apply_batch")),
    ):
        batch = upload(world.admin, data)
        stored_file = b"".join(
            bytes(data)
            for data in StoredRecord.objects.filter(area=storage.AREA, name=batch.stored_name)
            .order_by("index")
            .values_list("data", flat=True)
        )
        assert stored_file  # the encrypted upload, as stored
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.batch_map_columns(batch=batch, actor=world.admin, mapping={})
        batch.refresh_from_db()
        midway = every_table_text()  # passwords wait encrypted in the batch's rows
        error_file = b"".join(exports.error_rows_csv(batch)).decode("cp932")
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.batch_confirm(batch=batch, actor=world.admin, skip_errors=True)

    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLIED
    assert sent == [("preview_batch", (batch.pk,), {}), ("apply_batch", (batch.pk,), {})]
    everything = "\n".join([every_table_text(), midway, caplog.text, error_file, repr(stored_file)])
    for password in PASSWORDS:
        assert password not in everything
    assert not storage.exists(batch)  # deleted after apply
