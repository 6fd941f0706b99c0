"""Scopes belong to a realm: one name may mean different things in two realms."""

import clients.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0007_application_realm_required'),
    ]

    operations = [
        migrations.AddField(
            model_name='scope',
            name='realm',
            field=models.ForeignKey(default=clients.models.default_realm_pk, on_delete=django.db.models.deletion.CASCADE, related_name='scopes', to='clients.realm'),
        ),
        migrations.AlterField(
            model_name='scope',
            name='name',
            field=models.CharField(max_length=100, validators=[clients.models.validate_scope_name]),
        ),
        migrations.AddConstraint(
            model_name='scope',
            constraint=models.UniqueConstraint(fields=('realm', 'name'), name='scope_name_per_realm'),
        ),
    ]
