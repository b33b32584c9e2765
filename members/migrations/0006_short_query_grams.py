"""One- and two-character searches (高橋, タカ) through an index on PostgreSQL.

A trigram index cannot serve ``LIKE '%高橋%'``: the pattern holds no trigram, so PostgreSQL read every key.
``efnet_short_grams(key)`` is every character and every pair of neighbouring characters of the key (pairs
straddling the ``|`` between two values included: harmless, since a query never holds ``|``), and a GIN index
over it answers "which keys contain this pair" for any position, not only at the start of a value. The
search keeps its ``LIKE`` as well, so the index only narrows and results stay those of SQLite (which has
neither the function nor the index, and scans as before).

The function is one expression of built-ins (so PostgreSQL inlines it and matches the index): the characters,
then the pairs starting at odd positions, then those at even positions (``regexp_replace`` marks each pair's
end with U+001F, a control character no key holds, and ``string_to_array`` splits there)."""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION efnet_short_grams(k text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_split_to_array(k, '')
    || string_to_array(regexp_replace(k, '(..)', E'\\1\x1f', 'g'), E'\x1f')
    || string_to_array(regexp_replace(substr(k, 2), '(..)', E'\\1\x1f', 'g'), E'\x1f')
$$
"""
INDEX = "CREATE INDEX members_member_short_grams ON members_member USING gin (efnet_short_grams(search_key))"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS members_member_short_grams")
    schema_editor.execute("DROP FUNCTION IF EXISTS efnet_short_grams(text)")


class Migration(migrations.Migration):
    dependencies = [("members", "0005_scale_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
