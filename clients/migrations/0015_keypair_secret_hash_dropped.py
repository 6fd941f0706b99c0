"""KeyPair.secret_hash goes: the secrets are ClientSecret rows since 0010_client_secrets."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0014_client_secrets'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='keypair',
            name='secret_hash',
        ),
    ]
