"""Applications may require DPoP (RFC 9449): token requests without a proof are refused."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0015_keypair_secret_hash_dropped'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='require_dpop',
            field=models.BooleanField(default=False, help_text="Refuse token requests without a DPoP proof (RFC 9449): every token is bound to the client's key.", verbose_name='require DPoP'),
        ),
    ]
