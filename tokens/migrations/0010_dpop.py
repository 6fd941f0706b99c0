"""DPoP (RFC 9449): the key an opaque token is bound to, and the proofs already used (replay store without a shared cache)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tokens', '0009_accesstoken_audience'),
    ]

    operations = [
        migrations.CreateModel(
            name='UsedDPoPProof',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('proof_key', models.CharField(max_length=64, unique=True)),
                ('expires_at', models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name='accesstoken',
            name='jkt',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='DPoP key thumbprint'),
        ),
    ]
