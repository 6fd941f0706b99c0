"""Make a new signing key active; old public keys stay in the JWKS until their tokens expire."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens.keystore import rotate_signing_key
from tokens.protocol.keys import SUPPORTED_ALGORITHMS


class Command(BaseCommand):
    help = "Rotate the JWT signing key."

    def add_arguments(self, parser):
        parser.add_argument("--algorithm", choices=SUPPORTED_ALGORITHMS, default=None)

    def handle(self, *args, **options):
        algorithm = options["algorithm"] or settings.OAUTH_JWT_ALGORITHM
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise CommandError(f"OAUTH_JWT_ALGORITHM must be one of {', '.join(SUPPORTED_ALGORITHMS)}.")
        key = rotate_signing_key(algorithm=algorithm)
        self.stdout.write(f"New signing key {key.kid} ({key.algorithm}) is active; previous keys stay published.")
