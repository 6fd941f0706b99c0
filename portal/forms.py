"""The portal's forms: they validate input and hand clean values to the services."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import MaxValueValidator

from clients.models import Application, Realm, Scope, ScopeVisibility, TokenFormat
from clients.realms import realm_issuer
from tokens.protocol.scopes import format_scope, parse_scope

NOT_OPEN = "This realm is not open to new applications here: choose one of the realms listed."


def open_realms() -> list[Realm]:
    """The realms developers may register applications in: enabled and open to the portal, default first."""
    realms = Realm.objects.filter(enabled=True, open_to_portal=True)
    return sorted(realms, key=lambda realm: (not realm.is_default, realm.name))


class RealmChoiceForm(forms.Form):
    """Which realm a new application joins, asked first when several are open (CONTRACT.md "Realms").

    Sent by GET: the application form that follows offers that realm's scopes.
    """

    realm = forms.ChoiceField(widget=forms.RadioSelect, error_messages={"invalid_choice": NOT_OPEN})

    def __init__(self, *args, realms: list[Realm], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["realm"].choices = [(realm.name, f"{realm.name} · {realm_issuer(realm.name)}") for realm in realms]
        if realms:
            self.fields["realm"].initial = realms[0].name


class ApplicationForm(forms.Form):
    """Create or edit an application; scopes are chosen from its realm's scope registry.

    A new application's realm is one of ``open_realms()`` (a hidden field, chosen before by
    ``RealmChoiceForm``, or the only one open); a name sent that is not open is a form error. An
    application keeps its realm: editing has no realm field.
    """

    realm = forms.ChoiceField(required=False, widget=forms.HiddenInput, error_messages={"invalid_choice": NOT_OPEN})
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    scopes = forms.MultipleChoiceField(
        label="Allowed scopes", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="What the application may ask for. Scopes marked as needing approval are pending "
        "until an operator grants them; tokens carry them only then.",
    )
    default_scopes = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Granted when a token request names no scope; must be among the allowed scopes.",
    )
    client_credentials_enabled = forms.BooleanField(
        label="Client Credentials", required=False, initial=True,
        help_text="The grant your services use to exchange the consumer key and secret for a token.",
    )
    token_format = forms.ChoiceField(choices=TokenFormat.choices, required=False)
    audiences = forms.CharField(
        label="Allowed audiences", required=False, max_length=5200,
        help_text="The APIs your tokens may be for (RFC 8707): their identifiers, absolute URIs such as "
        "https://api.example.com, separated by spaces. A token request names them with resource.",
    )
    default_audience = forms.CharField(
        required=False, max_length=255,
        help_text="One of the allowed audiences, for a token request that names none. Empty: the realm's own audience.",
    )
    require_dpop = forms.BooleanField(
        label="Require DPoP", required=False, initial=False,
        help_text="Every token request must carry a DPoP proof (RFC 9449): tokens are bound to your client's key "
        "and useless to anyone who copies them.",
    )
    token_lifetime = forms.IntegerField(
        label="Token lifetime", required=False, min_value=1,
        help_text="Seconds. Empty for the server default.",
    )

    def __init__(self, *args, owner, application: Application | None = None, realm_name: str = "", **kwargs):
        self.owner, self.application = owner, application
        if application is not None:
            kwargs.setdefault("initial", initial_values(application))
        super().__init__(*args, **kwargs)
        self.realms: dict[str, Realm] = {}
        if application is None:
            self.realms = {realm.name: realm for realm in open_realms()}
            self.fields["realm"].choices = [(name, name) for name in self.realms]
            sent = self.data.get(self.add_prefix("realm")) if self.is_bound else realm_name
            self.application_realm = self._realm_offered(sent)
            self.initial["realm"] = self.application_realm.name if self.application_realm else ""
        else:
            del self.fields["realm"]
            self.application_realm = application.realm
        # No realm (none open, or a name not open): no scope to offer, and the realm field's error says why.
        scopes = Scope.objects.filter(realm=self.application_realm) if self.application_realm else Scope.objects.none()
        names = list(scopes.values_list("name", "description", "visibility"))
        if application is not None:  # keep scopes the application has even if the registry lost them
            known = {name for name, _, _ in names}
            held = application.allowed_scope_set | application.pending_scope_set
            names += [(name, "", ScopeVisibility.RESTRICTED) for name in sorted(held - known)]
        choices = [(name, _scope_label(name, description, visibility)) for name, description, visibility in names]
        self.fields["scopes"].choices = self.fields["default_scopes"].choices = choices
        realm = self.application_realm
        # Read per request: tests change the setting, operators the realm's maximum.
        longest = realm.max_lifetime_in_effect if realm else settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME
        self.fields["token_lifetime"].validators.append(MaxValueValidator(longest))
        self.fields["token_lifetime"].widget.attrs["max"] = longest

    def _realm_offered(self, name: str | None) -> Realm | None:
        """The open realm named name; with no name, the only open realm (none if several: one must be chosen)."""
        if name:
            return self.realms.get(name)
        return next(iter(self.realms.values())) if len(self.realms) == 1 else None

    def clean_realm(self) -> Realm:
        realm = self._realm_offered(self.cleaned_data["realm"])
        if realm is None:
            raise forms.ValidationError(
                "Choose a realm for the application." if self.realms else "No realm is open to new applications at the "
                "moment; ask an operator.")
        return realm

    def clean_name(self) -> str:
        """Names are unique per developer (as in WSO2's store): this also stops a double submission."""
        name = self.cleaned_data["name"]
        others = Application.objects.filter(owner=self.owner, name__iexact=name)
        if self.application is not None:
            others = others.exclude(pk=self.application.pk)
        if others.exists():
            raise forms.ValidationError("You already have an application with this name.")
        return name

    def clean(self):
        cleaned = super().clean()
        allowed, default = set(cleaned.get("scopes") or ()), set(cleaned.get("default_scopes") or ())
        if "scopes" in cleaned and "default_scopes" in cleaned and not default <= allowed:
            missing = format_scope(default - allowed)
            self.add_error("default_scopes", f"Default scopes must also be allowed: {missing}.")
        return cleaned

    def service_arguments(self) -> dict:
        """The cleaned values as the application services take them (``realm`` only for a new application)."""
        data = self.cleaned_data
        return {
            **({"realm": data["realm"]} if self.application is None else {}),
            "name": data["name"],
            "description": data["description"],
            "scopes": format_scope(data["scopes"]),
            "default_scopes": format_scope(data["default_scopes"]),
            "client_credentials_enabled": data["client_credentials_enabled"],
            "token_format": data["token_format"],
            "token_lifetime": data["token_lifetime"],
            "audiences": data["audiences"],
            "default_audience": data["default_audience"],
            "require_dpop": data["require_dpop"],
        }


def _scope_label(name: str, description: str, visibility: str) -> str:
    label = f"{name} · {description}" if description else name
    return label if visibility == ScopeVisibility.PUBLIC else f"{label} (needs an operator's approval)"


def initial_values(application: Application) -> dict:
    return {
        "name": application.name,
        "description": application.description,
        "scopes": sorted(application.allowed_scope_set | application.pending_scope_set),
        "default_scopes": sorted(parse_scope(application.default_scopes)),
        "client_credentials_enabled": application.client_credentials_enabled,
        "token_format": application.token_format,
        "token_lifetime": application.token_lifetime,
        "audiences": application.audiences,
        "default_audience": application.default_audience,
        "require_dpop": application.require_dpop,
    }


class SignUpForm(UserCreationForm):
    """A developer account: username, email and a password checked by the password validators."""

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
