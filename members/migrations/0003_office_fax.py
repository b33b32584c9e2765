"""Offices and the 事務局 get a FAX number: the FAX reply form prints where it goes back to. Real numbers are
entered by admins; the demo data fills fictitious ones."""

from django.db import migrations, models


def create_secretariat(apps, schema_editor):
    apps.get_model("members", "Secretariat").objects.get_or_create(pk=1, defaults={"name": "EF ネット事務局"})


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0002_sales_offices'),
    ]

    operations = [
        migrations.CreateModel(
            name='Secretariat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(default='EF ネット事務局', max_length=50, verbose_name='名称')),
                ('fax', models.CharField(blank=True, help_text='FAX番号のない営業所の会員の、FAX返信用紙の返送先', max_length=20, verbose_name='FAX番号')),
            ],
            options={
                'verbose_name': '事務局',
                'verbose_name_plural': '事務局',
            },
        ),
        migrations.AddField(
            model_name='salesoffice',
            name='fax',
            field=models.CharField(blank=True, help_text='会員がFAX返信用紙を返送する番号。空欄なら事務局のFAX番号が印刷されます。', max_length=20, verbose_name='FAX番号'),
        ),
        migrations.RunPython(create_secretariat, migrations.RunPython.noop),
    ]
