"""Bounds on lifetimes (what PostgreSQL's integer holds) and the wording of a realm's client credentials choice."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0008_scope_realm'),
    ]

    operations = [
        migrations.AlterField(
            model_name='application',
            name='token_lifetime',
            field=models.PositiveIntegerField(blank=True, help_text="Seconds; empty for the realm's default (the server's unless the realm sets one).", null=True, validators=[django.core.validators.MaxValueValidator(2147483647)]),
        ),
        migrations.AlterField(
            model_name='realm',
            name='access_token_lifetime',
            field=models.PositiveIntegerField(blank=True, help_text="Seconds; empty for the server's setting.", null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(2147483647)]),
        ),
        migrations.AlterField(
            model_name='realm',
            name='client_credentials_enabled',
            field=models.BooleanField(blank=True, choices=[(None, "Server's setting"), (True, 'Enabled'), (False, 'Disabled')], help_text="The server's setting is OAUTH_CLIENT_CREDENTIALS_ENABLED.", null=True, verbose_name='client credentials grant'),
        ),
        migrations.AlterField(
            model_name='realm',
            name='max_access_token_lifetime',
            field=models.PositiveIntegerField(blank=True, help_text="Seconds; empty for the server's setting.", null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(2147483647)], verbose_name='maximum access token lifetime'),
        ),
    ]
