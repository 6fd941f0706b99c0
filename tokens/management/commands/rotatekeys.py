"""Make the next signing key active from now on; old public keys stay in the JWKS until their tokens expire."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens.keystore import KeyRotationConflict, rotate_signing_key, signing_algorithm_in_use
from tokens.protocol.keys import SUPPORTED_ALGORITHMS


class Command(BaseCommand):
    help = (
        "Rotate the JWT signing key: the key published ahead signs from now on (every worker of this host at once, "
        "other instances sharing Redis within OAUTH_REVOCATION_POLL_SECONDS) and a new one is published ahead."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm", choices=SUPPORTED_ALGORITHMS, default=None,
            help="Must be what the servers sign with (their OAUTH_JWT_ALGORITHM); change that setting to switch.",
        )

    def handle(self, *args, **options):
        # The servers' setting, as their active key shows it: this shell's environment may differ.
        in_use = signing_algorithm_in_use() or settings.OAUTH_JWT_ALGORITHM
        if in_use not in SUPPORTED_ALGORITHMS:
            raise CommandError(f"OAUTH_JWT_ALGORITHM must be one of {', '.join(SUPPORTED_ALGORITHMS)}; it is {in_use!r}.")
        algorithm = options["algorithm"] or in_use
        if algorithm != in_use:
            raise CommandError(
                f"The servers sign with {in_use} (their OAUTH_JWT_ALGORITHM); a {algorithm} key would be replaced on "
                f"the next token request. Set OAUTH_JWT_ALGORITHM={algorithm} on every instance instead: the first "
                "token request after the restart rotates to a key of that algorithm."
            )
        try:
            key = rotate_signing_key(algorithm=algorithm)
        except KeyRotationConflict as exc:
            raise CommandError(f"{exc} Nothing was changed by this command; run it again if you need another rotation.")
        self.stdout.write(
            f"Signing key {key.kid} ({key.algorithm}) signs from now on; the previous key stays published until its "
            "tokens have expired, and the next key is published ahead."
        )
