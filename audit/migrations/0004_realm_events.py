"""Audit actions for realms: created, changed (enabled, disabled, settings), deleted."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_digest_unknown_identifiers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('token_issued', 'Token issued'), ('token_revoked', 'Token revoked'), ('client_auth_failed', 'Client authentication failed'), ('secret_generated', 'Keys generated'), ('secret_regenerated', 'Secret regenerated'), ('keys_revoked', 'Keys revoked'), ('signing_key_rotated', 'Signing key rotated'), ('application_created', 'Application created'), ('application_changed', 'Application changed'), ('application_disabled', 'Application disabled'), ('scopes_approved', 'Scopes approved'), ('scopes_denied', 'Scopes denied'), ('sign_in_failed', 'Sign-in failed'), ('realm_created', 'Realm created'), ('realm_changed', 'Realm changed'), ('realm_deleted', 'Realm deleted')], db_index=True, max_length=32),
        ),
    ]
