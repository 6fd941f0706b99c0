"""Every signing key belongs to a realm: the existing ones to ``default`` (required in ``0007``)."""

import django.db.models.deletion
from django.db import migrations, models


def put_signing_keys_in_default_realm(apps, schema_editor):
    Realm = apps.get_model("clients", "Realm")
    SigningKey = apps.get_model("tokens", "SigningKey")
    default, _ = Realm.objects.get_or_create(name="default", defaults={"open_to_portal": True})
    SigningKey.objects.filter(realm__isnull=True).update(realm=default)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0005_realm'),
        ('tokens', '0005_issuance_counts_and_revoked_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='signingkey',
            name='realm',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='signing_keys', to='clients.realm'),
        ),
        migrations.RunPython(put_signing_keys_in_default_realm, migrations.RunPython.noop),
    ]
