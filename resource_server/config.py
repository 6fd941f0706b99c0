"""The one setting an API project configures, ``OAUTH_RESOURCE_SERVER``, read into a frozen policy.

Read when the first request needs it (never at import), checked whole, and read again when a test
changes the setting. A mistake in it is ``ImproperlyConfigured`` naming the key and what it takes.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from tokens.protocol.keys import SUPPORTED_ALGORITHMS

SETTING = "OAUTH_RESOURCE_SERVER"
MODES = ("jwks", "introspection", "database")
DEFAULTS: dict[str, Any] = {
    "METADATA_URL": "",
    "SANDBOX_AUDIENCE": "",
    "ALGORITHMS": ["RS256"],
    "CLIENT_ID": "",
    "CLIENT_SECRET": "",
    "CACHE_SECONDS": 60,
    "INACTIVE_CACHE_SECONDS": 5,
    "CACHE_SIZE": 10_000,
    "JWKS_MAX_AGE": 300,
    "TIMEOUT": 5,
}
# What a remote mode needs from the setting besides ISSUER; database mode takes the server's own settings.
REQUIRED = {"jwks": ("AUDIENCE",), "introspection": ("AUDIENCE", "CLIENT_ID", "CLIENT_SECRET")}
# Database mode verifies with the server's own settings (the realms' keys, ...): these keys would
# only contradict them. It may name the issuers (realms) it trusts and the audience it answers to.
DATABASE_KEYS = frozenset({"AUDIENCE", "SANDBOX_AUDIENCE"})
REMOTE_ONLY = (frozenset(DEFAULTS) | {"AUDIENCE"}) - DATABASE_KEYS
# Every mode: this API's public base URL, the start of the htu its DPoP proofs must name (resource_server.dpop).
PUBLIC_URL = "PUBLIC_URL"


@dataclass(frozen=True, slots=True)
class ResourceServerConfig:
    """Who this API trusts and how it asks. Seconds are seconds; ``cache_size`` counts tokens.

    ``issuers`` are the issuer identifiers (a realm's issuer is one) whose tokens this API accepts:
    at least one in the remote modes, exactly one in introspection mode; in database mode none
    means every realm of the server.
    """

    mode: str
    issuers: tuple[str, ...] = ()
    metadata_url: str = ""
    audience: str = ""
    sandbox_audience: str = ""
    algorithms: tuple[str, ...] = ("RS256",)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    cache_seconds: float = 60
    inactive_cache_seconds: float = 5
    cache_size: int = 10_000
    jwks_max_age: float = 300
    timeout: float = 5
    public_url: str = ""  # without a trailing "/"; "" builds DPoP's htu as resource_server.dpop says

    @property
    def audiences(self) -> list[str]:
        """Every ``aud`` this API answers to: its own, and its sandbox one if it has one."""
        return [self.audience, self.sandbox_audience] if self.sandbox_audience else [self.audience]


@sensitive_variables("value", "merged")  # CLIENT_SECRET: kept out of error reports' frame variables
def read_config(value: Mapping[str, Any] | None, *, server_installed: bool = True) -> ResourceServerConfig:
    """Check ``OAUTH_RESOURCE_SERVER`` and return it as a policy; raise ``ImproperlyConfigured`` on any mistake.

    No setting at all means database mode where the server's apps are installed (this server's
    own ``/api/hello``); elsewhere it is a mistake, named as such.
    """
    if value is None:
        if not server_installed:
            raise ImproperlyConfigured(
                f"{SETTING} is not set: an API project names its issuer, audience and mode there "
                "(docs/protecting-apis.md)."
            )
        value = {"MODE": "database"}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{SETTING} must be a dict.")
    if not all(isinstance(name, str) for name in value):
        raise ImproperlyConfigured(f"{SETTING}'s keys must be strings.")
    mode = value.get("MODE")
    if mode not in MODES:
        raise ImproperlyConfigured(f"{SETTING}['MODE'] must be one of {', '.join(MODES)}; it is {mode!r}.")
    unknown = set(value) - REMOTE_ONLY - DATABASE_KEYS - {"MODE", "ISSUER", PUBLIC_URL}
    public_url = _url(value, PUBLIC_URL).rstrip("/") if value.get(PUBLIC_URL) else ""
    if unknown:
        raise ImproperlyConfigured(f"{SETTING} has unknown keys: {', '.join(sorted(unknown))}.")
    if mode == "database":
        if not server_installed:
            raise ImproperlyConfigured(
                f"{SETTING} in database mode needs the server's apps (clients, tokens, audit) in INSTALLED_APPS "
                "and its database; a separate service uses jwks or introspection mode."
            )
        if set(value) & REMOTE_ONLY:
            raise ImproperlyConfigured(
                f"{SETTING} in database mode takes only MODE, ISSUER, AUDIENCE, SANDBOX_AUDIENCE and PUBLIC_URL: the rest "
                "is the server's own settings."
            )
        merged = {"AUDIENCE": "", "SANDBOX_AUDIENCE": "", **value}
        if merged["SANDBOX_AUDIENCE"] and not merged["AUDIENCE"]:
            raise ImproperlyConfigured(f"{SETTING}['SANDBOX_AUDIENCE'] in database mode needs an AUDIENCE.")
        return ResourceServerConfig(
            mode="database", issuers=_issuers(value["ISSUER"]) if "ISSUER" in value else (),
            audience=_text(merged, "AUDIENCE"), sandbox_audience=_text(merged, "SANDBOX_AUDIENCE"), public_url=public_url,
        )
    merged = {**DEFAULTS, **value}
    cache_seconds = _seconds(merged, "CACHE_SECONDS")
    issuers = _remote_issuers(merged, mode)
    for name in REQUIRED[mode]:
        if not isinstance(merged.get(name), str) or not merged[name]:
            raise ImproperlyConfigured(f"{SETTING}['{name}'] is required in {mode} mode (a non-empty string).")
    return ResourceServerConfig(
        mode=mode,
        issuers=issuers,
        metadata_url=_url(merged, "METADATA_URL") if merged["METADATA_URL"] else "",
        audience=_text(merged, "AUDIENCE"),
        sandbox_audience=_text(merged, "SANDBOX_AUDIENCE"),
        algorithms=_algorithms(merged["ALGORITHMS"]),
        client_id=_text(merged, "CLIENT_ID"),
        client_secret=_text(merged, "CLIENT_SECRET"),
        cache_seconds=cache_seconds,
        inactive_cache_seconds=min(_seconds(merged, "INACTIVE_CACHE_SECONDS"), cache_seconds),
        cache_size=_count(merged, "CACHE_SIZE"),
        jwks_max_age=_seconds(merged, "JWKS_MAX_AGE", least=1),
        timeout=_seconds(merged, "TIMEOUT", least=0.1),
        public_url=public_url,
    )


def _text(merged: Mapping[str, Any], name: str) -> str:
    if not isinstance(merged[name], str):
        raise ImproperlyConfigured(f"{SETTING}['{name}'] must be a string.")
    return merged[name]


def _url(merged: Mapping[str, Any], name: str) -> str:
    url = _text(merged, name)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{SETTING}['{name}'] must be an http(s) URL without query or fragment; it is {url!r}.")
    return url


def _remote_issuers(merged: Mapping[str, Any], mode: str) -> tuple[str, ...]:
    """The issuers a remote mode trusts: several only in jwks mode, where each is discovered from its own URL."""
    if not merged.get("ISSUER"):
        several = ", or a non-empty list of them" if mode == "jwks" else ""
        raise ImproperlyConfigured(f"{SETTING}['ISSUER'] is required in {mode} mode: the issuer's URL{several}.")
    issuers = _issuers(merged["ISSUER"])
    if len(issuers) > 1 and mode == "introspection":
        raise ImproperlyConfigured(
            f"{SETTING}['ISSUER'] in introspection mode is one issuer: CLIENT_ID and CLIENT_SECRET are a client "
            "of one realm, and a client authenticates only in its own realm. To trust several realms, use jwks mode."
        )
    if len(issuers) > 1 and merged["METADATA_URL"]:
        raise ImproperlyConfigured(
            f"{SETTING}['METADATA_URL'] is for a single ISSUER: with several, each issuer's metadata is found "
            "from its own URL (RFC 8414 §3.1)."
        )
    return issuers


def _issuers(value: Any) -> tuple[str, ...]:
    """``ISSUER``, one issuer's URL or a non-empty list of distinct ones, as a tuple."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value or not all(isinstance(issuer, str) for issuer in value):
        raise ImproperlyConfigured(f"{SETTING}['ISSUER'] must be an issuer's URL or a non-empty list of them; it is {value!r}.")
    # Issuers are compared exactly (RFC 8414 §3.3); ours never end in "/", which users often add.
    issuers = tuple(_url({"ISSUER": issuer}, "ISSUER").rstrip("/") for issuer in value)
    for index, issuer in enumerate(issuers):
        if issuer in issuers[:index]:
            raise ImproperlyConfigured(f"{SETTING}['ISSUER'] names {issuer!r} twice.")
    return issuers


def _algorithms(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not value or any(name not in SUPPORTED_ALGORITHMS for name in value):
        raise ImproperlyConfigured(
            f"{SETTING}['ALGORITHMS'] must be a non-empty list of {', '.join(SUPPORTED_ALGORITHMS)}; it is {value!r}."
        )
    return tuple(value)


def _seconds(merged: Mapping[str, Any], name: str, least: float = 0) -> float:
    value = merged[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= least:
        raise ImproperlyConfigured(f"{SETTING}['{name}'] must be a number of seconds, at least {least}.")
    return float(value)


def _count(merged: Mapping[str, Any], name: str) -> int:
    value = merged[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{SETTING}['{name}'] must be a whole number, at least 1.")
    return value
