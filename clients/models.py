"""Realms, registered applications, their consumer keys and the scope registry."""

from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from tokens.protocol.client_assertion import read_client_jwks
from tokens.protocol.errors import InvalidScope
from tokens.protocol.audiences import parse_audiences
from tokens.protocol.keys import SUPPORTED_ALGORITHMS
from tokens.protocol.scopes import format_scope, is_scope_token, parse_scope
from tokens.protocol.throttling import RateLimit

# The realm every application and signing key belonged to before realms existed; it keeps the
# server's historic paths and OAUTH_ISSUER as its issuer (CONTRACT.md "Realms").
DEFAULT_REALM = "default"

# The longest lifetime any setting may name, in seconds (about 68 years): what PostgreSQL's integer
# holds, so SQLite cannot store a value that would overflow the date arithmetic of a token or a key.
MAX_LIFETIME_SECONDS = 2_147_483_647

# A realm name is one URL path segment: /realms/NAME/ (CONTRACT.md "Realms").
validate_realm_name = RegexValidator(
    r"\A[a-z0-9][a-z0-9-]{0,39}\Z",
    "A realm name is 1 to 40 lowercase letters, digits and hyphens, starting with a letter or a digit.",
)


def validate_rate_limit(value: str) -> None:
    """A limit as ``OAUTH_TOKEN_RATE_LIMIT`` writes one (``100/minute``); "off" is not one: leave it empty instead."""
    try:
        rate = RateLimit.parse(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if rate is None:
        raise ValidationError("A rate limit is like '100/minute'; leave it empty for the server's setting.")


def validate_scope_name(value: str) -> None:
    if not is_scope_token(value):
        raise ValidationError("A scope name is printable ASCII without spaces, quotes or backslashes.")


class TokenFormat(models.TextChoices):
    DEFAULT = "", "Server default"
    JWT = "jwt", "JWT (RFC 9068)"
    OPAQUE = "opaque", "Opaque"


class Realm(models.Model):
    """An isolated authorization server inside this deployment: its own applications and keys.

    A setting left empty follows the server's (``OAUTH_ACCESS_TOKEN_LIFETIME`` and the others).
    """

    name = models.CharField(
        max_length=40, unique=True, validators=[validate_realm_name],
        help_text="Lowercase letters, digits and hyphens; the realm's URLs are under /realms/NAME/.",
    )
    enabled = models.BooleanField(default=True)
    open_to_portal = models.BooleanField(
        "open to the portal", default=False, help_text="Developers may register applications in this realm."
    )
    access_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_LIFETIME_SECONDS)],
        help_text="Seconds; empty for the server's setting.",
    )
    max_access_token_lifetime = models.PositiveIntegerField(
        "maximum access token lifetime", null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LIFETIME_SECONDS)],
        help_text="Seconds; empty for the server's setting.",
    )
    default_token_format = models.CharField(max_length=10, choices=TokenFormat.choices, blank=True, default="")
    jwt_algorithm = models.CharField(
        "JWT algorithm", max_length=10, blank=True, default="",
        choices=[("", "Server default"), *((name, name) for name in SUPPORTED_ALGORITHMS)],
    )
    client_credentials_enabled = models.BooleanField(
        "client credentials grant", null=True, blank=True,
        choices=[(None, "Server's setting"), (True, "Enabled"), (False, "Disabled")],
        help_text="The server's setting is OAUTH_CLIENT_CREDENTIALS_ENABLED.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_REALM

    @property
    def token_format_in_effect(self) -> str:
        """What its applications that choose no format get: its own default, else ``OAUTH_DEFAULT_TOKEN_FORMAT``."""
        return self.default_token_format or settings.OAUTH_DEFAULT_TOKEN_FORMAT

    @property
    def token_format_label(self) -> str:
        """``token_format_in_effect`` for people: "JWT" or "Opaque"."""
        return TokenFormat(self.token_format_in_effect).label.split(" (")[0]  # "JWT", not "JWT (RFC 9068)"

    @property
    def lifetime_in_effect(self) -> int:
        """The lifetime, in seconds, of its tokens when neither the request nor the application names one."""
        return min(self.access_token_lifetime or settings.OAUTH_ACCESS_TOKEN_LIFETIME, self.max_lifetime_in_effect)

    @property
    def max_lifetime_in_effect(self) -> int:
        """The longest lifetime, in seconds, a token of this realm may have: its own maximum, else the server's."""
        return self.max_access_token_lifetime or settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME

    def clean(self) -> None:
        """A realm keeps its name (its issuer and URLs are made of it); the default one stays enabled;
        a lifetime stays within the maximum when both are set."""
        if self.pk is not None:
            stored = Realm.objects.filter(pk=self.pk).values_list("name", flat=True).first()
            if stored is not None and stored != self.name:
                raise ValidationError({"name": "A realm cannot be renamed: its issuer and URLs are made of its name."})
        if self.name == DEFAULT_REALM and not self.enabled:
            raise ValidationError({"enabled": "The default realm cannot be disabled."})
        lifetime, maximum = self.access_token_lifetime, self.max_lifetime_in_effect
        if lifetime is not None and lifetime > maximum:
            whose = "" if self.max_access_token_lifetime else f" (the server's OAUTH_MAX_ACCESS_TOKEN_LIFETIME, {maximum} s)"
            raise ValidationError({"access_token_lifetime": f"The lifetime cannot exceed the maximum lifetime{whose}."})


def default_realm_pk() -> int:
    """The default realm's id, for rows created by code that names no realm (made if missing)."""
    # Only the id is read, so this keeps working in migrations written before later Realm fields.
    pk = Realm.objects.filter(name=DEFAULT_REALM).values_list("pk", flat=True).first()
    if pk is None:
        pk = Realm.objects.get_or_create(name=DEFAULT_REALM, defaults={"open_to_portal": True})[0].pk
    return pk


class ScopeVisibility(models.TextChoices):
    PUBLIC = "public", "Public: developers take it themselves in the portal"
    RESTRICTED = "restricted", "Restricted: an operator grants it"


class Scope(models.Model):
    """A scope name applications may choose from, with what it grants and who may grant it.

    Restricted is the default: a scope becomes self-service only by its owner's decision. A scope
    belongs to one realm: the same name in two realms is two scopes, each with its own meaning.
    """

    realm = models.ForeignKey("Realm", on_delete=models.CASCADE, related_name="scopes", default=default_realm_pk)
    name = models.CharField(max_length=100, validators=[validate_scope_name])
    description = models.CharField(max_length=255, blank=True)
    visibility = models.CharField(
        max_length=10, choices=ScopeVisibility.choices, default=ScopeVisibility.RESTRICTED,
        help_text="Public scopes are granted to any developer who asks in the portal; a portal request "
        "for a restricted one waits for an operator's approval.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["realm", "name"], name="scope_name_per_realm")]

    def __str__(self) -> str:
        return self.name


class Application(models.Model):
    """A registered client application: what it may ask for and how its tokens look.

    Scopes are kept as space-delimited strings rather than a many-to-many table so that the
    token endpoint reads everything it needs in the one query that finds the consumer key.
    """

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    realm = models.ForeignKey(Realm, on_delete=models.PROTECT, related_name="applications", default=default_realm_pk)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="applications"
    )
    scopes = models.CharField(
        "allowed scopes", max_length=1000, blank=True, help_text="Space-separated names from the scope registry."
    )
    # Asked for in the portal, restricted, not yet granted: tokens never carry them.
    pending_scopes = models.CharField(
        "scopes pending approval", max_length=1000, blank=True,
        help_text="Requested by the developer; approve or deny them with the actions of the application list.",
    )
    default_scopes = models.CharField(
        max_length=1000, blank=True,
        help_text="Granted when a token request names no scope; among the allowed (or pending) scopes.",
    )
    client_credentials_enabled = models.BooleanField("client credentials grant", default=True)
    token_format = models.CharField(max_length=10, choices=TokenFormat.choices, blank=True, default="")
    token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_LIFETIME_SECONDS)],
        help_text="Seconds; empty for the realm's default (the server's unless the realm sets one).",
    )
    # RFC 8707: the APIs (absolute URIs) its tokens may be for, and the one they are for when a request names none.
    audiences = models.CharField(
        "allowed audiences", max_length=5200, blank=True,
        help_text="Space-separated absolute URIs without a fragment (RFC 8707): the APIs a token request may "
        "name with resource. Empty: only the realm's own audience.",
    )
    default_audience = models.CharField(
        max_length=255, blank=True,
        help_text="One of the allowed audiences, for a token request that names no resource; "
        "empty for the realm's own audience.",
    )
    is_active = models.BooleanField("active", default=True)
    is_resource_server = models.BooleanField(
        "resource server", default=False, help_text="May call the introspection endpoint."
    )
    require_dpop = models.BooleanField(
        "require DPoP", default=False,
        help_text="Refuse token requests without a DPoP proof (RFC 9449): every token is bound to the client's key.",
    )
    # "Revoke all tokens" and disabling: a token issued (iat) before this moment is refused, JWTs
    # included, which are not stored one by one (Keycloak's "not before" of a client).
    tokens_not_before = models.DateTimeField(
        "tokens not before", null=True, blank=True, editable=False,
        help_text="Tokens issued before this moment are refused (Revoke all tokens, disabling).",
    )
    token_rate_limit = models.CharField(
        "token rate limit", max_length=32, blank=True, default="", validators=[validate_rate_limit],
        help_text="Token requests per client id, e.g. 100/minute; empty for the server's OAUTH_TOKEN_RATE_LIMIT.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # Whoever owns an application manages its keys in the portal: giving it to someone
        # (yourself included) is full control of that client, so it is not part of "change".
        permissions = [("change_application_owner", "Can change the owner of an application")]

    def __str__(self) -> str:
        return self.name

    @property
    def allowed_scope_set(self) -> frozenset[str]:
        return parse_scope(self.scopes)

    @property
    def pending_scope_set(self) -> frozenset[str]:
        return parse_scope(self.pending_scopes)

    @property
    def default_scope_set(self) -> frozenset[str]:
        """The defaults as chosen; a token gets only those also allowed (pending ones wait)."""
        return parse_scope(self.default_scopes)

    def clean(self) -> None:
        """Every scope must be in the registry; defaults must be allowed or pending approval."""
        errors, sets = {}, {}
        for field in ("scopes", "pending_scopes", "default_scopes"):
            try:
                sets[field] = parse_scope(getattr(self, field))
            except InvalidScope:
                errors[field] = "Scopes are space-separated scope names."
        if errors:
            raise ValidationError(errors)
        for field in ("scopes", "pending_scopes"):
            unknown = unknown_scopes(sets[field], realm_id=self.realm_id)
            if unknown:
                errors[field] = f"Not in the scope registry: {' '.join(sorted(unknown))}. Add it under Scopes first."
        if not sets["default_scopes"] <= sets["scopes"] | sets["pending_scopes"]:
            errors["default_scopes"] = "Default scopes must be among the allowed scopes."
        errors.update(self._audience_errors())
        if self.token_lifetime and self.realm_id and self.token_lifetime > self.realm.max_lifetime_in_effect:
            errors["token_lifetime"] = (
                f"At most {self.realm.max_lifetime_in_effect} s, the maximum lifetime of realm {self.realm.name}."
            )
        if errors:
            raise ValidationError(errors)
        # An operator who grants a pending scope by typing it into the allowed ones has decided on it.
        self.pending_scopes = format_scope(sets["pending_scopes"] - sets["scopes"])
        self.audiences = " ".join(parse_audiences(self.audiences))  # one space between, no repeats

    def _audience_errors(self) -> dict[str, str]:
        """The mistakes of ``audiences`` and ``default_audience``, by field."""
        try:
            audiences = parse_audiences(self.audiences)
        except ValueError as exc:
            return {"audiences": f"{exc}. Audiences are space-separated absolute URIs without a fragment."}
        if self.default_audience and self.default_audience not in audiences:
            return {"default_audience": "The default audience must be one of the allowed audiences."}
        return {}


def unknown_scopes(names: frozenset[str], *, realm_id: int) -> frozenset[str]:
    """The names that are not in the realm's scope registry (one query, none for no names)."""
    if not names:
        return frozenset()
    return names - set(Scope.objects.filter(realm_id=realm_id, name__in=names).values_list("name", flat=True))


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Sandbox"


class AuthMethod(models.TextChoices):
    """How a key pair's client authenticates (RFC 8414 §2 names; RFC 7591 ``token_endpoint_auth_method``).

    The two secret methods are one family: the same secret, in the header or the body, so a client
    registered with either may use both. ``private_key_jwt`` has no secret and nothing else works.
    """

    CLIENT_SECRET_BASIC = "client_secret_basic", "Client secret (HTTP Basic)"
    CLIENT_SECRET_POST = "client_secret_post", "Client secret (in the body)"
    PRIVATE_KEY_JWT = "private_key_jwt", "Signed JWT (private_key_jwt, RFC 7523)"


def validate_jwks_uri(value: str) -> None:
    """https only, except on a loopback host (a client's own test server)."""
    parts = urlsplit(value)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValidationError("A jwks_uri must be an https URL (http only on localhost).")
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValidationError("A jwks_uri is an absolute URL with a host, no credentials and no fragment.")


def validate_client_jwks(value) -> None:
    """A JWK Set of public signing keys (``tokens.protocol.client_assertion.read_client_jwks``)."""
    try:
        read_client_jwks(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class KeyPair(models.Model):
    """The consumer key (``client_id``) of one application in one environment; its secrets are ``ClientSecret`` rows.

    ``secret_updated_at`` is when its newest secret was made: what a confirmation to regenerate
    carries, so that one sent twice regenerates once. A ``private_key_jwt`` key pair has no secret
    but public keys: a JWK Set held here (``jwks``) or fetched from the client's ``jwks_uri``,
    exactly one of them.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="key_pairs")
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    client_id = models.CharField("consumer key", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    secret_updated_at = models.DateTimeField(auto_now_add=True)
    # As the application's, for this key pair's tokens only.
    tokens_not_before = models.DateTimeField("tokens not before", null=True, blank=True, editable=False)
    auth_method = models.CharField(
        "client authentication", max_length=30, choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET_BASIC
    )
    jwks = models.JSONField(
        "JWK Set", null=True, blank=True, validators=[validate_client_jwks],
        help_text="private_key_jwt: the client's public keys as a JWK Set, or give a jwks_uri.",
    )
    jwks_uri = models.URLField(
        "JWK Set URL", max_length=500, blank=True, validators=[validate_jwks_uri],
        help_text="private_key_jwt: where the client publishes its public keys (https).",
    )

    class Meta:
        ordering = ["application", "environment"]
        constraints = [
            models.UniqueConstraint(fields=["application", "environment"], name="one_key_pair_per_environment")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} ({self.environment})"

    def clean(self) -> None:
        """A private_key_jwt key pair has a JWK Set or a jwks_uri, not both; a secret one has neither."""
        if self.auth_method == AuthMethod.PRIVATE_KEY_JWT:
            if (self.jwks is None) == (not self.jwks_uri):
                raise ValidationError("private_key_jwt needs either a JWK Set or a jwks_uri (one of them).")
            if self.jwks is not None:
                validate_client_jwks(self.jwks)  # field validators skip an empty value such as {}
        elif self.jwks is not None or self.jwks_uri:
            raise ValidationError("A JWK Set or a jwks_uri is only for private_key_jwt.")


class UsedClientAssertion(models.Model):
    """A client assertion's ``jti`` seen while the shared cache was unreachable (RFC 7523 §3 item 7).

    Kept until the assertion expires, so that it is accepted once; ``cleartokens`` deletes the
    expired ones. ``digest`` is SHA-256 of the client id and the jti: a fixed size whatever was sent.
    """

    digest = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.digest


class ClientSecret(models.Model):
    """One consumer secret of a key pair, stored as its SHA-256 digest (``clients.secrets``).

    A key pair holds several while a regeneration's grace runs (CONTRACT.md "Client credentials
    over their life"). ``expires_at`` empty: until regenerated. ``label`` is a random public name
    (8 hex digits), unrelated to the secret, so that pages and audit rows can say which secret
    without a hint of its value. ``last_used_at`` is the minute of its last use, stored in batches
    (``clients.secret_store``).
    """

    key_pair = models.ForeignKey(KeyPair, on_delete=models.CASCADE, related_name="secrets")
    secret_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.label

    def is_live(self, now: datetime) -> bool:
        """Whether it authenticates at now: it has no expiry or expires after now."""
        return self.expires_at is None or now < self.expires_at
