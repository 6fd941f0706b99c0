"""Encrypt every stored signing key under the first OAUTH_KEY_ENCRYPTION_KEY (after a key change)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from tokens.encryption import reencrypt_private_key
from tokens.models import SigningKey


class Command(BaseCommand):
    help = "Re-encrypt the signing keys under the newest OAUTH_KEY_ENCRYPTION_KEY, so older ones can be removed."

    @transaction.atomic
    def handle(self, *args, **options):
        keys = list(SigningKey.objects.select_for_update())
        for key in keys:
            key.private_key = reencrypt_private_key(key.private_key)
        SigningKey.objects.bulk_update(keys, ["private_key"])
        self.stdout.write(f"Re-encrypted {len(keys)} signing key(s) under the first OAUTH_KEY_ENCRYPTION_KEY.")
