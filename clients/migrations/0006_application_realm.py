"""Every application belongs to a realm: the existing ones to ``default``.

The column is added nullable and filled here; ``0007`` makes it required in a transaction of its
own (PostgreSQL refuses to alter a table with pending foreign key checks from this update).
"""

import django.db.models.deletion
from django.db import migrations, models


def put_applications_in_default_realm(apps, schema_editor):
    Realm = apps.get_model("clients", "Realm")
    Application = apps.get_model("clients", "Application")
    default, _ = Realm.objects.get_or_create(name="default", defaults={"open_to_portal": True})
    Application.objects.filter(realm__isnull=True).update(realm=default)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0005_realm'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='realm',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='clients.realm'),
        ),
        migrations.RunPython(put_applications_in_default_realm, migrations.RunPython.noop),
    ]
