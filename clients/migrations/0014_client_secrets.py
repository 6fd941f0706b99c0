"""Several secrets per key pair (issue 15): each key pair's secret becomes its first ClientSecret row.

The per-application token rate limit comes with it. ``KeyPair.secret_hash`` is dropped by the next
migration, not here: on PostgreSQL a table that received rows in a transaction cannot be altered
in it while their deferred foreign key checks are pending.
"""

import secrets

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import clients.models


def move_secrets(apps, schema_editor):
    """One live ClientSecret per key pair, with its digest, made when the secret was, with a fresh label."""
    KeyPair, ClientSecret = apps.get_model("clients", "KeyPair"), apps.get_model("clients", "ClientSecret")
    rows = [
        ClientSecret(key_pair_id=pk, secret_hash=secret_hash, label=secrets.token_hex(4), created_at=made)
        for pk, secret_hash, made in KeyPair.objects.values_list("pk", "secret_hash", "secret_updated_at").iterator()
        if secret_hash and secret_hash != "!"  # "!": a private_key_jwt key pair, which has no secret
    ]
    ClientSecret.objects.bulk_create(rows, batch_size=1000)


def restore_secrets(apps, schema_editor):
    """Back to one secret per key pair: its newest live one (a key pair with none gets an empty hash: no secret works)."""
    KeyPair, ClientSecret = apps.get_model("clients", "KeyPair"), apps.get_model("clients", "ClientSecret")
    now = django.utils.timezone.now()
    live = ClientSecret.objects.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
    for key_pair_id, secret_hash in live.order_by("key_pair_id", "created_at", "id").values_list("key_pair_id", "secret_hash"):
        KeyPair.objects.filter(pk=key_pair_id).update(secret_hash=secret_hash)  # the newest comes last


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0013_client_assertions'),
    ]

    operations = [
        # A default, so that going back past the next migration can add the column again to existing rows.
        migrations.AlterField(
            model_name='keypair',
            name='secret_hash',
            field=models.CharField(max_length=64, default=''),
        ),
        migrations.AddField(
            model_name='application',
            name='token_rate_limit',
            field=models.CharField(blank=True, default='', help_text="Token requests per client id, e.g. 100/minute; empty for the server's OAUTH_TOKEN_RATE_LIMIT.", max_length=32, validators=[clients.models.validate_rate_limit], verbose_name='token rate limit'),
        ),
        migrations.CreateModel(
            name='ClientSecret',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('secret_hash', models.CharField(max_length=64)),
                ('label', models.CharField(max_length=16)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='last used')),
                ('key_pair', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='secrets', to='clients.keypair')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.RunPython(move_secrets, restore_secrets),
    ]
