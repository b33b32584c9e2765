"""The 13 sales offices of the notice (第2報), with their phone numbers as printed there."""

from django.db import migrations

OFFICES = [
    ("sapporo", "札幌営業所", "営業所", "011-222-4321"),
    ("shinjo", "新庄出張所", "出張所", "0233-22-8655"),
    ("sendai", "仙台営業所", "営業所", "022-262-6741"),
    ("omiya", "大宮営業所", "営業所", "048-647-8331"),
    ("tokyo", "東京営業所", "営業所", "03-3256-1201"),
    ("yokohama", "横浜営業所", "営業所", "045-212-4562"),
    ("nagoya", "名古屋営業所", "営業所", "052-459-5758"),
    ("kyoto", "京都営業所", "営業所", "075-231-3941"),
    ("osaka", "大阪営業所", "営業所", "06-6942-4028"),
    ("kobe", "神戸営業所", "営業所", "078-222-2371"),
    ("hiroshima", "広島営業所", "営業所", "082-242-1661"),
    ("fukuoka", "福岡営業所", "営業所", "092-714-7631"),
    ("kumamoto", "熊本営業所", "営業所", "096-373-0166"),
]


def create_offices(apps, schema_editor):
    SalesOffice = apps.get_model("members", "SalesOffice")
    for order, (code, name, kind, phone) in enumerate(OFFICES, start=1):
        SalesOffice.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "phone": phone, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]
    operations = [migrations.RunPython(create_offices, migrations.RunPython.noop)]
