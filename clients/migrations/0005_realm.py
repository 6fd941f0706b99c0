"""Realms, and the realm ``default`` every existing row will belong to."""

import django.core.validators
from django.db import migrations, models


def create_default_realm(apps, schema_editor):
    Realm = apps.get_model("clients", "Realm")
    Realm.objects.get_or_create(name="default", defaults={"open_to_portal": True})


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0004_tokens_not_before'),
    ]

    operations = [
        migrations.CreateModel(
            name='Realm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text="Lowercase letters, digits and hyphens; the realm's URLs are under /realms/NAME/.", max_length=40, unique=True, validators=[django.core.validators.RegexValidator('\\A[a-z0-9][a-z0-9-]{0,39}\\Z', 'A realm name is 1 to 40 lowercase letters, digits and hyphens, starting with a letter or a digit.')])),
                ('enabled', models.BooleanField(default=True)),
                ('open_to_portal', models.BooleanField(default=False, help_text='Developers may register applications in this realm.', verbose_name='open to the portal')),
                ('access_token_lifetime', models.PositiveIntegerField(blank=True, help_text="Seconds; empty for the server's setting.", null=True, validators=[django.core.validators.MinValueValidator(1)])),
                ('max_access_token_lifetime', models.PositiveIntegerField(blank=True, help_text="Seconds; empty for the server's setting.", null=True, validators=[django.core.validators.MinValueValidator(1)], verbose_name='maximum access token lifetime')),
                ('default_token_format', models.CharField(blank=True, choices=[('', 'Server default'), ('jwt', 'JWT (RFC 9068)'), ('opaque', 'Opaque')], default='', max_length=10)),
                ('jwt_algorithm', models.CharField(blank=True, choices=[('', 'Server default'), ('RS256', 'RS256'), ('ES256', 'ES256'), ('Ed25519', 'Ed25519'), ('EdDSA', 'EdDSA')], default='', max_length=10, verbose_name='JWT algorithm')),
                ('client_credentials_enabled', models.BooleanField(blank=True, help_text="Empty for the server's setting.", null=True, verbose_name='client credentials grant')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        # Dropping the table on the way back removes it: nothing to undo by hand.
        migrations.RunPython(create_default_realm, migrations.RunPython.noop),
    ]
