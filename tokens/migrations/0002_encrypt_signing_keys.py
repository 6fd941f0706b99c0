"""Encrypt the private keys stored in plain PEM before keys were encrypted at rest."""

from django.db import migrations

from tokens.encryption import decrypt_private_key, encrypt_private_key, is_encrypted


def encrypt_keys(apps, schema_editor):
    SigningKey = apps.get_model("tokens", "SigningKey")
    for key in SigningKey.objects.all():
        if not is_encrypted(key.private_key):
            key.private_key = encrypt_private_key(key.private_key)
            key.save(update_fields=["private_key"])


def decrypt_keys(apps, schema_editor):
    SigningKey = apps.get_model("tokens", "SigningKey")
    for key in SigningKey.objects.all():
        if is_encrypted(key.private_key):
            key.private_key = decrypt_private_key(key.private_key)
            key.save(update_fields=["private_key"])


class Migration(migrations.Migration):
    dependencies = [("tokens", "0001_initial")]

    operations = [migrations.RunPython(encrypt_keys, decrypt_keys)]
