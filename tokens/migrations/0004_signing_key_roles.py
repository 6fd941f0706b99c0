"""Signing keys get a role: next (published ahead), active (signing) or retired."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models


def assign_roles(apps, schema_editor):
    """The newest unretired key signs; every other key is retired, published as it was before."""
    SigningKey = apps.get_model("tokens", "SigningKey")
    keys = list(SigningKey.objects.order_by("-created_at", "-id"))
    active = next((key for key in keys if key.retired_at is None), None)
    for key in keys:
        if key is active:
            key.role, key.activated_at = "active", key.created_at
        else:
            key.role = "retired"
            key.retired_at = key.retired_at or active.created_at
            # Before roles, a retired key left the JWKS at retired_at + the maximum lifetime.
            key.published_until = key.retired_at + timedelta(seconds=settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME)
        key.save(update_fields=["role", "activated_at", "retired_at", "published_until"])


def clear_roles(apps, schema_editor):
    SigningKey = apps.get_model("tokens", "SigningKey")
    SigningKey.objects.filter(role="next").delete()  # never signed anything


class Migration(migrations.Migration):

    dependencies = [
        ('tokens', '0003_leaner_token_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='signingkey',
            name='activated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='signingkey',
            name='published_until',
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name='signingkey',
            name='role',
            field=models.CharField(choices=[('next', 'next (published, not signing yet)'), ('active', 'active (signing)'), ('retired', 'retired (verifying only)')], default='next', max_length=10),
        ),
        migrations.AlterField(
            model_name='signingkey',
            name='retired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(assign_roles, clear_roles),
        migrations.AddConstraint(
            model_name='signingkey',
            constraint=models.UniqueConstraint(condition=models.Q(('role__in', ['next', 'active'])), fields=('role',), name='signing_key_one_per_role'),
        ),
    ]
