"""Make the next signing key active from now on, in one realm or all; old public keys stay in the JWKS until their tokens expire."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clients.models import DEFAULT_REALM, Realm
from clients.realms import drop_known_realms, find_realm
from tokens.keystore import KeyRotationConflict, rotate_signing_key, signing_algorithm_in_use
from tokens.protocol.keys import SUPPORTED_ALGORITHMS


class Command(BaseCommand):
    help = (
        "Rotate the JWT signing keys of one realm (--realm) or of every realm: the key published ahead signs from "
        "now on (every worker of this host at once, other instances sharing Redis within "
        "OAUTH_REVOCATION_POLL_SECONDS) and a new one is published ahead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--realm", default=None, help="The realm whose keys rotate (default: every realm).")
        parser.add_argument(
            "--algorithm", choices=SUPPORTED_ALGORITHMS, default=None,
            help="Must be what the realm signs with (its JWT algorithm, else the servers' OAUTH_JWT_ALGORITHM); "
            "change that setting to switch.",
        )

    def handle(self, *args, **options):
        drop_known_realms()  # this process may be long-lived (a shell): read the realms as they are now
        names = [options["realm"]] if options["realm"] else list(Realm.objects.values_list("name", flat=True))
        if not names:
            names = [DEFAULT_REALM]  # a fresh database: the default realm is made with its first keys
        # Checked for every realm before any rotates: a mistake changes nothing.
        plan = [(name, self._algorithm(name, options["algorithm"])) for name in names]
        for name, algorithm in plan:
            try:
                key = rotate_signing_key(realm=name, algorithm=algorithm)
            except KeyRotationConflict as exc:
                raise CommandError(
                    f"{exc} Nothing was changed in realm {name} by this command; run it again if you need another "
                    "rotation."
                )
            where = "" if name == DEFAULT_REALM else f" in realm {name}"
            self.stdout.write(
                f"Signing key {key.kid} ({key.algorithm}) signs from now on{where}; the previous key stays published "
                "until its tokens have expired, and the next key is published ahead."
            )

    def _algorithm(self, name: str, asked: str | None) -> str:
        """What the realm signs with (its active key shows the servers' setting), refusing another one asked for."""
        known = find_realm(name)
        if known is None and name != DEFAULT_REALM:
            raise CommandError(f"No realm named {name!r}; createrealm makes one.")
        # The servers' setting, as the realm's active key shows it: this shell's environment may differ.
        configured = known.jwt_algorithm if known is not None else settings.OAUTH_JWT_ALGORITHM
        in_use = signing_algorithm_in_use(realm=name) or configured
        if in_use not in SUPPORTED_ALGORITHMS:
            raise CommandError(f"OAUTH_JWT_ALGORITHM must be one of {', '.join(SUPPORTED_ALGORITHMS)}; it is {in_use!r}.")
        if asked is not None and asked != in_use:
            if known is not None and known.algorithm:
                raise CommandError(
                    f"Realm {name} signs with {in_use} (its JWT algorithm); a {asked} key would be replaced on the "
                    "next token request. Change the realm's JWT algorithm in the admin instead."
                )
            raise CommandError(
                f"The servers sign with {in_use} (their OAUTH_JWT_ALGORITHM); a {asked} key would be replaced on "
                f"the next token request. Set OAUTH_JWT_ALGORITHM={asked} on every instance instead: the first "
                "token request after the restart rotates to a key of that algorithm."
            )
        return in_use
