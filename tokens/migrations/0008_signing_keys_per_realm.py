"""One active and one next signing key per realm; a deleted realm takes its keys along."""

import clients.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0008_scope_realm'),
        ('tokens', '0007_signingkey_realm_required'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='signingkey',
            name='signing_key_one_per_role',
        ),
        migrations.AlterField(
            model_name='signingkey',
            name='realm',
            field=models.ForeignKey(default=clients.models.default_realm_pk, on_delete=django.db.models.deletion.CASCADE, related_name='signing_keys', to='clients.realm'),
        ),
        migrations.AddConstraint(
            model_name='signingkey',
            constraint=models.UniqueConstraint(condition=models.Q(('role__in', ['next', 'active'])), fields=('realm', 'role'), name='signing_key_one_per_realm_role'),
        ),
    ]
