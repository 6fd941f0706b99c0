"""Register an application with production keys and print them as one line of JSON."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clients.models import TokenFormat
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
        parser.add_argument("--token-format", choices=[TokenFormat.JWT, TokenFormat.OPAQUE], default="")
        parser.add_argument("--lifetime", type=int, default=None, help="Token lifetime in seconds.")
        parser.add_argument("--resource-server", action="store_true", help="May call the introspection endpoint.")
        parser.add_argument("--owner", default=None, help="Username of the owning developer.")
        parser.add_argument(
            "--create-scopes", action="store_true",
            help="Add scopes the registry lacks, as restricted (without it an unknown scope is refused).",
        )

    def handle(self, *args, **options):
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
                    owner=owner,
                    create_missing_scopes=options["create_scopes"] or options["scopes"] is None,
                )
                keys = generate_keys(application=application)
        except (ValidationError, InvalidScope) as exc:
            raise CommandError(_message(exc)) from None
        self.stdout.write(
            json.dumps(
                {
                    "name": application.name,
                    "client_id": keys.client_id,
                    "client_secret": keys.client_secret,
                    "environment": keys.environment,
                    "scopes": application.scopes,
                    "default_scopes": application.default_scopes,
                }
            )
        )


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        if "scope registry" in message:  # a typo is refused, not registered: say how to mean it
            message += " Pass --create-scopes to add them (restricted)."
        return message
    return str(exc)
