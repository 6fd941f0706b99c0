"""A signing key's realm is required; code that names none puts it in ``default``."""

import clients.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tokens', '0006_signingkey_realm'),
    ]

    operations = [
        migrations.AlterField(
            model_name='signingkey',
            name='realm',
            field=models.ForeignKey(default=clients.models.default_realm_pk, on_delete=django.db.models.deletion.PROTECT, related_name='signing_keys', to='clients.realm'),
        ),
    ]
