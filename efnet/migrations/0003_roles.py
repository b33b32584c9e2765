"""The roles are groups: 本社, 営業所, 管理者, plus パスワード閲覧 carrying the separate reveal permission."""

from django.db import migrations

ROLES = ["本社", "営業所", "管理者", "パスワード閲覧"]
REVEAL_HOLDERS = ["管理者", "パスワード閲覧"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    member_type, _ = ContentType.objects.get_or_create(app_label="members", model="member")
    reveal, _ = Permission.objects.get_or_create(
        content_type=member_type,
        codename="reveal_password",
        defaults={"name": "保存されたパスワードを表示・印字できる"},
    )
    for name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        if name in REVEAL_HOLDERS:
            group.permissions.add(reveal)


class Migration(migrations.Migration):
    dependencies = [
        ("efnet", "0002_initial"),
        ("members", "0002_sales_offices"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
