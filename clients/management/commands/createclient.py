"""Register an application with production keys and print them as one line of JSON."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clients.models import DEFAULT_REALM, MAX_LIFETIME_SECONDS, AuthMethod, Realm, TokenFormat, default_realm_pk
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
            "--audiences", default="",
            help='The APIs its tokens may be for (RFC 8707), absolute URIs: "https://a.example https://b.example".',
        )
        parser.add_argument(
            "--default-audience", default="", help="One of --audiences, for a token request that names no resource.",
        )
        parser.add_argument(
            "--auth-method", choices=[method.value for method in AuthMethod], default=AuthMethod.CLIENT_SECRET_BASIC,
            help="How the client authenticates (default: %(default)s; the secret methods accept each other).",
        )
        parser.add_argument("--jwks-file", default=None, help="private_key_jwt: a JSON file with the client's public JWK Set.")
        parser.add_argument("--jwks-uri", default="", help="private_key_jwt: the https URL of the client's JWK Set.")
        parser.add_argument(
            "--secret-lifetime", type=int, default=None,
            help="Seconds the secret works (default: until regenerated).",
        )
        parser.add_argument(
            "--rate-limit", default="",
            help="Token requests per client id, e.g. 100/minute (default: the server's OAUTH_TOKEN_RATE_LIMIT).",
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
        public_keys = _public_keys(options)
        lifetime = options["secret_lifetime"]
        if lifetime is not None and not 1 <= lifetime <= MAX_LIFETIME_SECONDS:
            raise CommandError(f"--secret-lifetime must be between 1 and {MAX_LIFETIME_SECONDS} seconds.")
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
                    audiences=options["audiences"],
                    default_audience=options["default_audience"],
                    realm=realm,
                    token_rate_limit=options["rate_limit"],
                )
                keys = generate_keys(application=application, auth_method=options["auth_method"], secret_lifetime=lifetime,
                                     **public_keys)
        except (ValidationError, InvalidScope) as exc:
            raise CommandError(_message(exc, realm=realm)) from None
        self.stdout.write(
            json.dumps(
                {
                    "name": application.name,
                    "realm": realm.name,
                    "token_endpoint": realm_urls(realm.name)["token_endpoint"],
                    "client_id": keys.client_id,
                    # private_key_jwt: no secret exists, so none is printed (CONTRACT.md)
                    **({"client_secret": keys.client_secret} if keys.client_secret else {}),
                    "token_endpoint_auth_method": options["auth_method"],
                    "environment": keys.environment,
                    "scopes": application.scopes,
                    "default_scopes": application.default_scopes,
                    "audiences": application.audiences,
                    "default_audience": application.default_audience,
                }
            )
        )


def _public_keys(options) -> dict:
    """The jwks or jwks_uri of a private_key_jwt client (RFC 7523), from --jwks-file or --jwks-uri."""
    file, uri = options["jwks_file"], options["jwks_uri"]
    if options["auth_method"] != AuthMethod.PRIVATE_KEY_JWT:
        if file or uri:
            raise CommandError("--jwks-file and --jwks-uri go only with --auth-method private_key_jwt.")
        return {}
    if bool(file) == bool(uri):
        raise CommandError("private_key_jwt needs --jwks-file or --jwks-uri (one of them).")
    if uri:
        return {"jwks_uri": uri}
    try:
        with open(file, encoding="utf-8") as stream:
            return {"jwks": json.load(stream)}
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read a JSON JWK Set from {file}: {exc}") from None


def _find_realm(name: str) -> Realm | None:
    """The realm named name, or None; the default one always exists (made if missing, as default_realm_pk does)."""
    if name == DEFAULT_REALM:
        return Realm.objects.get(pk=default_realm_pk())
    return Realm.objects.filter(name=name).first()


def _message(exc: Exception, *, realm: Realm) -> str:
    if isinstance(exc, ValidationError) and not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    if isinstance(exc, ValidationError):
        message = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        if "scope registry" in message:  # a typo is refused, not registered: say how to mean it
            message += f" Pass --create-scopes to add them to realm {realm.name}'s registry (restricted)."
        return message
    return str(exc)
