"""Register an application with production keys and print them as one line of JSON."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clients.models import DEFAULT_REALM, Realm, TokenFormat, default_realm_pk
from clients.realms import realm_urls
from clients.services import create_application, generate_keys
from tokens.protocol.errors import InvalidScope


class Command(BaseCommand):
    help = "Register an application and print its client_id and client_secret (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scopes", default=None,
            help='Allowed scopes, e.g. "read write" (default: read, added to the registry, restricted, if missing).',
        )
        parser.add_argument("--default-scopes", default=None, help="Defaults when a request names none (all allowed scopes if omitted).")
        parser.add_argument("--token-format", choices=[TokenFormat.JWT.value, TokenFormat.OPAQUE.value], default="")
        parser.add_argument("--lifetime", type=int, default=None, help="Token lifetime in seconds.")
        parser.add_argument("--resource-server", action="store_true", help="May call the introspection endpoint.")
        parser.add_argument(
            "--require-dpop", action="store_true", help="Refuse token requests without a DPoP proof (RFC 9449)."
        )
        parser.add_argument("--owner", default=None, help="Username of the owning developer.")
        parser.add_argument(
            "--realm", default=DEFAULT_REALM,
            help="The realm it belongs to: its client id authenticates only there (default: %(default)s).",
        )
        parser.add_argument(
            "--create-scopes", action="store_true",
            help="Add scopes the realm's registry lacks, as restricted (without it an unknown scope is refused).",
        )

    def handle(self, *args, **options):
        realm = _find_realm(options["realm"])
        if realm is None:
            raise CommandError(f"No realm named {options['realm']!r}; createrealm makes one.")
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"No user named {options['owner']!r}.")
        if options["lifetime"] is not None and options["lifetime"] < 1:
            raise CommandError("--lifetime must be at least 1 second.")
        try:
            with transaction.atomic():
                application = create_application(
                    name=options["name"],
                    scopes=options["scopes"] or "read",
                    default_scopes=options["default_scopes"],
                    token_format=options["token_format"],
                    token_lifetime=options["lifetime"],
                    is_resource_server=options["resource_server"],
                    require_dpop=options["require_dpop"],
                    owner=owner,
                    create_missing_scopes=options["create_scopes"] or options["scopes"] is None,
                    realm=realm,
                )
                keys = generate_keys(application=application)
        except (ValidationError, InvalidScope) as exc:
            raise CommandError(_message(exc, realm=realm)) from None
        self.stdout.write(
            json.dumps(
                {
                    "name": application.name,
                    "realm": realm.name,
                    "token_endpoint": realm_urls(realm.name)["token_endpoint"],
                    "client_id": keys.client_id,
                    "client_secret": keys.client_secret,
                    "environment": keys.environment,
                    "scopes": application.scopes,
                    "default_scopes": application.default_scopes,
                }
            )
        )


def _find_realm(name: str) -> Realm | None:
    """The realm named name, or None; the default one always exists (made if missing, as default_realm_pk does)."""
    if name == DEFAULT_REALM:
        return Realm.objects.get(pk=default_realm_pk())
    return Realm.objects.filter(name=name).first()


def _message(exc: Exception, *, realm: Realm) -> str:
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        if "scope registry" in message:  # a typo is refused, not registered: say how to mean it
            message += f" Pass --create-scopes to add them to realm {realm.name}'s registry (restricted)."
        return message
    return str(exc)
