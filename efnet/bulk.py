"""Writing many rows at the office's size (imports, the 100,000-member demo): ``bulk_insert`` (COPY on
PostgreSQL), ``bulk_set`` (many rows, different values), ``any_of`` (a long id list as one array parameter).

Updating many rows with different values in one statement per few hundred rows:

Django's ``bulk_update`` writes ``SET col = CASE WHEN id=1 THEN … WHEN id=2 THEN … END`` for every column; the
database walks that CASE for every row it updates, so a chunk of n rows costs n² comparisons per column (it
was most of the time of applying 2,000-row chunks). ``UPDATE … FROM (VALUES …)`` joins instead: linear.
Both PostgreSQL and SQLite (3.33+) accept it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connections
from django.db.models import JSONField
from django.utils import timezone

BATCH = 500


def db_value(field, value, connection):
    """What the database gets for ``value``. On PostgreSQL psycopg adapts plain Python values itself and a
    JSON value goes as its text (cast to jsonb), skipping Django's per-value preparation, which was most of
    the cost of writing a hundred thousand rows; elsewhere Django prepares it (SQLite needs it for times)."""
    if connection.vendor != "postgresql":
        return field.get_db_prep_save(value, connection)
    if isinstance(field, JSONField):
        return None if value is None else json.dumps(value, ensure_ascii=False)
    return value


def bulk_set(model, objects: Sequence, fields: Sequence[str], *, same: dict | None = None) -> None:
    """Write ``fields`` of each object (by primary key). Values are taken as stored in the instance (an
    encrypted field's ciphertext, never decrypted here). ``same``: columns set to one value for every row
    (a constant in the statement instead of an array with the same value n times)."""
    if not objects:
        return
    connection = connections[model._default_manager.db]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = model._meta.pk
    columns = [pk, *(model._meta.get_field(name) for name in fields)]
    constants = [(model._meta.get_field(name), value) for name, value in (same or {}).items()]
    set_constants = "".join(f", {quote(f.column)} = %s" for f, _ in constants)
    constant_values = [f.get_db_prep_save(v, connection) for f, v in constants]

    def value(obj, field):
        return db_value(field, obj.__dict__.get(field.attname) if field is not pk else obj.pk, connection)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column: a handful of parameters however many rows (psycopg parses a statement's
            # placeholders one by one, which for thousands of them cost more than the update itself).
            names = [quote(f"c{i}") for i in range(len(columns))]
            arrays = ", ".join(f"%b::{_array_type(f, connection)}[]" for f in columns)  # %b: sent in binary
            assignments = ", ".join(
                f"{quote(f.column)} = v.{names[i]}{_cast_back(f, connection)}" for i, f in enumerate(columns) if i
            )
            sql = (
                f"UPDATE {table} SET {assignments}{set_constants} "  # noqa: S608
                f"FROM unnest({arrays}) AS v({', '.join(names)}) WHERE {table}.{quote(pk.column)} = v.{names[0]}"
            )
            for start in range(0, len(objects), 5000):
                part = objects[start : start + 5000]
                server_bound(connection, sql, [*constant_values, *([value(obj, f) for obj in part] for f in columns)])
            return
        names = [f"column{i + 1}" for i in range(len(columns))]
        placeholder = "(" + ", ".join("%s" for _ in columns) + ")"
        assignments = ", ".join(f"{quote(f.column)} = v.{names[i]}" for i, f in enumerate(columns) if i)
        for start in range(0, len(objects), BATCH):
            part = objects[start : start + BATCH]
            cursor.execute(
                f"UPDATE {table} SET {assignments}{set_constants} "  # noqa: S608
                f"FROM (VALUES {', '.join(placeholder for _ in part)}) AS v "
                f"WHERE {table}.{quote(pk.column)} = v.{names[0]}",
                [*constant_values, *(value(obj, f) for obj in part for f in columns)],
            )


def server_bound(connection, sql: str, params: list) -> None:
    """Execute with the parameters bound by the server (``%b`` placeholders are sent in binary). Django's
    psycopg cursor binds on the client: every array became an SQL literal, each element escaped by a regular
    expression in Python and parsed back by the server (a good part of writing 5,000 rows' JSON)."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)


def _array_type(field, connection) -> str:
    # JSON travels as text (unnest of a jsonb[] parameter would need psycopg to dump each value as jsonb).
    return "text" if isinstance(field, JSONField) else field.cast_db_type(connection)


def _cast_back(field, connection) -> str:
    return "::jsonb" if isinstance(field, JSONField) else ""


def any_of(queryset, field: str, values):
    """``queryset.filter(<field>__in=values)``; on PostgreSQL as ``= ANY(array)``, one parameter instead of one
    per value (Django prepares and psycopg parses each of thousands of placeholders otherwise)."""
    values = list(values)
    if queryset.db and connections[queryset.db].vendor != "postgresql":
        return queryset.filter(**{f"{field}__in": values})
    model = queryset.model
    target = model._meta.get_field(field) if field != "pk" else model._meta.pk
    connection = connections[queryset.db]
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{connection.ops.quote_name(target.column)}"
    return queryset.extra(where=[f"{column} = ANY(%s::{target.cast_db_type(connection)}[])"], params=[values])  # noqa: S610


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` of rows already in column order: the one way every
    writer here (instances, dicts, an import's tuples) sends many rows."""
    quote = cursor.db.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def reserve_ids(cursor, table: str, column: str, count: int) -> list[int]:
    """``count`` new ids from the table's sequence (PostgreSQL), in one array: the sequence looked up once,
    not once per id, and one row fetched instead of ``count``."""
    cursor.execute(
        "SELECT array_agg(nextval(s)) FROM pg_get_serial_sequence(%s, %s) AS s, generate_series(1, %s)",
        [table, column, count],
    )
    return cursor.fetchone()[0]


def bulk_insert(model, objects: Sequence) -> None:
    """Insert new rows, setting each object's primary key. On PostgreSQL by COPY with ids taken from the
    table's sequence first (an INSERT through the ORM costs about ten times as much per row at this size);
    elsewhere ``bulk_create``. Every field's ``pre_save`` runs as for ``save()``: defaults, ``auto_now`` and the
    encryption of encrypted fields (bound to the row's UUID, set when the object was made)."""
    if not objects:
        return
    connection = connections[model._default_manager.db]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects, batch_size=BATCH)
        return
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        for obj, new_id in zip(objects, reserve_ids(cursor, table, pk.column, len(objects)), strict=True):
            setattr(obj, pk.attname, new_id)
        rows = ([db_value(f, f.pre_save(obj, True), connection) for f in fields] for obj in objects)
        copy_rows(cursor, table, [f.column for f in fields], rows)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(model, rows: Sequence[dict]) -> list[int]:
    """Insert rows given as ``{attname: value}`` and return their new ids, in order, without building a model
    instance per row (at an import's size the instances and their per-field ``pre_save`` were a good part of
    the time). A field not given takes its default (a callable one, such as a UUID, called per row); an
    ``auto_now``/``auto_now_add`` field not given takes one moment for the whole call. An encrypted field must
    be given as ``Sealed`` ciphertext already bound to its row (``efnet.fields.seal``): plaintext is refused
    here as everywhere else. PostgreSQL: ids from the sequence, then COPY; elsewhere one INSERT per row."""
    if not rows:
        return []
    connection = connections[model._default_manager.db]
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if f is not pk]
    now = timezone.now()
    constant, per_row = {}, []  # the defaults of fields a row leaves out
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constant[field.attname] = now
        elif field.has_default() and callable(field.default):
            per_row.append((field.attname, field.default))
        else:
            constant[field.attname] = field.get_default()
    postgres = connection.vendor == "postgresql"
    attnames = [f.attname for f in fields]
    # What goes through the field on its way: on PostgreSQL JSON (dumped) and encrypted fields (plaintext is
    # refused); psycopg adapts the other plain values itself (see db_value). Elsewhere every field.
    converted = [
        (i, f)
        for i, f in enumerate(fields)
        if not postgres or isinstance(f, JSONField) or getattr(f, "row_id_field", None)  # EncryptedTextField
    ]

    def values(row: dict) -> list:
        merged = constant | row
        for attname, make in per_row:
            if attname not in row:
                merged[attname] = make()
        out = [merged[a] for a in attnames]
        for i, field in converted:
            if not postgres:
                out[i] = field.get_db_prep_save(out[i], connection)
            elif isinstance(field, JSONField):
                out[i] = db_value(field, out[i], connection)
            else:
                out[i] = field.get_prep_value(out[i])
        return out

    quote = connection.ops.quote_name
    table = model._meta.db_table
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if postgres:
            ids = reserve_ids(cursor, table, pk.column, len(rows))
            columns_in_order = [pk.column, *(f.column for f in fields)]
            copy_rows(cursor, table, columns_in_order, ([i, *values(r)] for i, r in zip(ids, rows, strict=True)))
            return ids
        placeholders = ", ".join("%s" for _ in fields)
        sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({placeholders}) RETURNING {quote(pk.column)}"  # noqa: S608
        ids = []
        for row in rows:
            cursor.execute(sql, values(row))
            ids.append(cursor.fetchone()[0])
        return ids
