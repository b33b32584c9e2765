"""One- and two-character searches (高橋, タカ) through an index on PostgreSQL.

A trigram index cannot serve ``LIKE '%高橋%'``: the pattern holds no trigram, so PostgreSQL read every key.
``efnet_short_grams(key)`` is every character and every pair of neighbouring characters of the key's
non-ASCII text (names and readings; each run of ASCII — IDs, mail addresses, the ``|`` between values —
becomes one ``|``, so the array stays small: ~20 characters a member instead of ~100), and a GIN index over
it answers "which keys contain this pair" at any position, not only at the start of a value. Pairs with a
``|`` are harmless: a query never holds one. The search keeps its ``LIKE`` as well, so the index only
narrows and results stay those of SQLite (which has neither the function nor the index, and scans as
before). A short query with an ASCII character (``ab``, ``12``) does not use it and scans, as before.

The pairs: those starting at odd positions, then at even positions (``regexp_replace`` marks each pair's
end with U+001F, a control character no key holds, and ``string_to_array`` splits there)."""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION efnet_short_grams(k text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_split_to_array(w, '')
    || string_to_array(regexp_replace(w, '(..)', E'\\1\x1f', 'g'), E'\x1f')
    || string_to_array(regexp_replace(substr(w, 2), '(..)', E'\\1\x1f', 'g'), E'\x1f')
  FROM (SELECT regexp_replace(k, '[\x01-\x7f]+', '|', 'g') AS w) AS wide
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
