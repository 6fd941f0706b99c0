"""An application's realm is required; code that names none puts it in ``default``."""

import clients.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0006_application_realm'),
    ]

    operations = [
        migrations.AlterField(
            model_name='application',
            name='realm',
            field=models.ForeignKey(default=clients.models.default_realm_pk, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='clients.realm'),
        ),
    ]
