"""Create a realm and print its URLs as one line of JSON (CONTRACT.md "Realms", "Management commands")."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from clients.models import TokenFormat
from clients.realms import realm_urls
from clients.services import create_realm
from tokens.protocol.keys import SUPPORTED_ALGORITHMS


class Command(BaseCommand):
    help = (
        "Create a realm: an isolated authorization server under /realms/NAME/ with its own issuer, keys, "
        "applications and scopes. Settings left out follow the server's."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="1 to 40 lowercase letters, digits and hyphens, starting with a letter or digit.")
        # Numbers are read in handle(), not by argparse, so a bad one is a CommandError (exit status 1).
        parser.add_argument("--lifetime", help="Access token lifetime in seconds (default: OAUTH_ACCESS_TOKEN_LIFETIME).")
        parser.add_argument(
            "--max-lifetime", help="Longest lifetime a token may have, in seconds (default: OAUTH_MAX_ACCESS_TOKEN_LIFETIME)."
        )
        parser.add_argument(
            "--token-format", choices=[TokenFormat.JWT.value, TokenFormat.OPAQUE.value], default="",
            help="Format of tokens whose application chooses none (default: OAUTH_DEFAULT_TOKEN_FORMAT).",
        )
        parser.add_argument(
            "--algorithm", choices=SUPPORTED_ALGORITHMS, default="",
            help="JWT signing algorithm of the realm's keys (default: OAUTH_JWT_ALGORITHM).",
        )
        parser.add_argument(
            "--disable-client-credentials", action="store_true",
            help="Switch the client credentials grant off in this realm (default: OAUTH_CLIENT_CREDENTIALS_ENABLED).",
        )
        parser.add_argument(
            "--open-to-portal", action="store_true",
            help="Let developers register applications in this realm from the portal (default: closed).",
        )

    def handle(self, *args, **options):
        name = options["name"]
        try:
            create_realm(
                name=name,
                access_token_lifetime=_seconds(options["lifetime"], "--lifetime"),
                max_access_token_lifetime=_seconds(options["max_lifetime"], "--max-lifetime"),
                default_token_format=options["token_format"],
                jwt_algorithm=options["algorithm"],
                client_credentials_enabled=False if options["disable_client_credentials"] else None,
                open_to_portal=options["open_to_portal"],
            )
        except ValidationError as exc:
            raise CommandError(_message(exc)) from None
        except IntegrityError:  # created by someone else between the check and the insert
            raise CommandError(f"A realm named {name!r} already exists.") from None
        urls = realm_urls(name)
        self.stdout.write(json.dumps({
            "name": name,
            **{key: urls[key] for key in ("issuer", "token_endpoint", "jwks_uri", "metadata_uri")},
        }))


# The largest lifetime every database stores (PostgreSQL's integer), about 68 years: on SQLite,
# which stores more, a larger one would overflow the date arithmetic of each token request.
MAX_SECONDS = 2_147_483_647


def _seconds(value: str | None, option: str) -> int | None:
    """A whole number of seconds from 1 to MAX_SECONDS from the command line, or None when the option is absent."""
    if value is None:
        return None
    text = value.strip()
    seconds = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
    if not 1 <= seconds <= MAX_SECONDS:
        raise CommandError(f"{option} must be a whole number of seconds from 1 to {MAX_SECONDS} (got {value!r}).")
    return seconds


_OPTIONS = {"access_token_lifetime": "--lifetime", "max_access_token_lifetime": "--max-lifetime"}


def _message(exc: ValidationError) -> str:
    """The model's words, each after the option (or "name") it is about."""
    return "; ".join(
        f"{_OPTIONS.get(field, field)}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
    )
