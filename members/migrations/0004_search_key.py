"""Member search through one normalised key, indexed for substring search on PostgreSQL.

The key is filled for existing members here (in chunks, so a large table stays flat in memory). The
trigram extension and the two indexes exist only on PostgreSQL: SQLite has no GIN, and its LIKE scan is
what the embedded default has always done."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models import Index

from efnet import normalize

CHUNK = 2000
TRGM_INDEX = "members_member_search_trgm"
NUMBER_PREFIX_INDEX = "members_member_number_like"


def fill_search_keys(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    Address = apps.get_model("mailaddresses", "AdditionalMailAddress")
    last = 0
    while True:
        members = list(
            Member.objects.filter(pk__gt=last)
            .order_by("pk")
            .only("name", "name_kana", "biglobe_user_id", "email")[:CHUNK]
        )
        if not members:
            return
        addresses = {}
        for member_id, address in Address.objects.filter(member__in=members).values_list("member_id", "address"):
            addresses.setdefault(member_id, []).append(address)
        for m in members:
            m.search_key = normalize.search_key(
                m.name, m.name_kana, m.biglobe_user_id, m.email, *addresses.get(m.pk, [])
            )
        Member.objects.bulk_update(members, ["search_key"])
        last = members[-1].pk


def _indexes():
    return [
        GinIndex(fields=["search_key"], opclasses=["gin_trgm_ops"], name=TRGM_INDEX),
        # LIKE '0123%' can use a btree only with pattern ops under a non-C collation.
        Index(fields=["number"], opclasses=["varchar_pattern_ops"], name=NUMBER_PREFIX_INDEX),
    ]


def add_postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Member = apps.get_model("members", "Member")
    for index in _indexes():
        schema_editor.add_index(Member, index)


def drop_postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Member = apps.get_model("members", "Member")
    for index in _indexes():
        schema_editor.remove_index(Member, index)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_office_fax"),
        ("mailaddresses", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="search_key",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop),
        TrigramExtension(),
        migrations.RunPython(add_postgres_indexes, drop_postgres_indexes),
    ]
