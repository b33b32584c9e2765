"""Address lists get their own reasons: 新規追加 (an address was added), 紛失再発行, 記載事項変更. A list recorded
as 新規 was one printed for a new address, so it becomes 新規追加."""

from django.db import migrations, models


def new_to_new_address(apps, schema_editor):
    apps.get_model("mailaddresses", "AddressListIssue").objects.filter(reason="新規").update(reason="新規追加")


def new_address_to_new(apps, schema_editor):
    apps.get_model("mailaddresses", "AddressListIssue").objects.filter(reason="新規追加").update(reason="新規")


class Migration(migrations.Migration):
    dependencies = [("mailaddresses", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="addresslistissue",
            name="reason",
            field=models.CharField(
                choices=[("新規追加", "新規追加"), ("紛失再発行", "紛失再発行"), ("記載事項変更", "記載事項変更")],
                max_length=20,
                verbose_name="理由",
            ),
        ),
        migrations.RunPython(new_to_new_address, new_address_to_new),
    ]
