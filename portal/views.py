"""The developer portal: thin views over the application, key and token services.

Secrets are rendered straight into the response of the POST that made them, marked no-store;
they never go into the session, a URL, a message or a log.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.services import recent_events
from clients.models import Application, Environment, KeyPair
from clients.realms import realm_urls
from clients.secret_store import GRACE_CHOICES, read_grace_choice
from clients.services import (
    IssuedKeys,
    SecretAlreadyRegenerated,
    TooManySecrets,
    create_application,
    generate_keys,
    owned_applications,
    regenerate_secret,
    revoke_keys,
    revoke_tokens,
    secret_version,
    update_application,
)
from oauthserver.signin import ThrottledLoginView
from tokens.usage import with_usage

from .credentials import show_credentials
from .secret_list import describe_secrets, rate_limit_in_effect
from .forms import ApplicationForm, RealmChoiceForm, SignUpForm


class SignInView(ThrottledLoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "signup_enabled": settings.PORTAL_SIGNUP_ENABLED}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if not settings.PORTAL_SIGNUP_ENABLED:
        raise Http404("Sign-up is switched off.")
    if request.user.is_authenticated:
        return redirect("portal:application-list")
    form = SignUpForm(request.POST) if request.method == "POST" else SignUpForm()
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}. Register your first application.")
        return redirect("portal:application-list")
    return render(request, "registration/signup.html", {"form": form})


@require_safe
@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    context = {"applications": with_usage(owned_applications(owner=request.user))}
    return render(request, "portal/application_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def application_create(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    realm_name = request.GET.get("realm", "")
    form = ApplicationForm(request.POST if posted else None, owner=request.user, realm_name=realm_name)
    if not posted and form.application_realm is None:  # several realms open and none chosen yet, or none open
        return _choose_realm(request, list(form.realms.values()))
    if posted and form.is_valid():
        try:
            application = create_application(owner=request.user, self_service=True, **form.service_arguments())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{application.name} is registered. Generate its keys below.")
            _tell_pending(request, application)
            return redirect("portal:application-detail", pk=application.pk)
    context = {"form": form, "realm_urls": realm_urls(form.application_realm.name) if form.application_realm else None,
               "several_realms": len(form.realms) > 1}
    return render(request, "portal/application_form.html", context)


def _choose_realm(request: HttpRequest, realms: list) -> HttpResponse:
    """The first step of registering when several realms are open: which one (a name sent that is not open says so)."""
    choice = RealmChoiceForm(request.GET if "realm" in request.GET else None, realms=realms)
    if choice.is_bound:
        choice.is_valid()  # a refused name shows its error
    return render(request, "portal/application_realm.html", {"choice": choice, "realms": realms})


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    application = _owned(request, pk)
    form = ApplicationForm(request.POST if request.method == "POST" else None, owner=request.user, application=application)
    if request.method == "POST" and form.is_valid():
        try:
            update_application(application=application, **form.service_arguments())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Changes saved.")
            _tell_pending(request, application)
            return redirect("portal:application-detail", pk=application.pk)
    context = {"form": form, "application": application, "realm_urls": realm_urls(application.realm.name)}
    return render(request, "portal/application_form.html", context)


@require_safe
@login_required
def application_detail(request: HttpRequest, pk: int, environment: str = Environment.PRODUCTION) -> HttpResponse:
    return _application_page(request, _owned(request, pk), _environment(environment))


@never_cache
@require_POST
@login_required
def keys_generate(request: HttpRequest, pk: int, environment: str) -> HttpResponse:
    application, environment = _owned(request, pk), _environment(environment)
    if _key_pair(application, environment) is None:
        try:
            issued = generate_keys(application=application, environment=environment)
        except IntegrityError:  # a second submission got there first
            pass
        else:
            return _application_page(request, _owned(request, pk), environment, issued=issued)
    messages.info(request, "These keys already exist. Their secret was shown once; regenerate it if it is lost.")
    return redirect(_tab_url(application, environment))


@never_cache
@require_POST
@login_required
def keys_regenerate(request: HttpRequest, pk: int, environment: str) -> HttpResponse:
    grace = read_grace_choice(request.POST.get("grace", "0"))  # none chosen: at once
    found = _confirmed_key_pair(
        request, pk, environment, "Regenerate secret",
        "A new secret is made. Choose when the current secrets stop working, on every server: at once, or after "
        "a grace period during which both work, so that your services can move to the new one without downtime.",
        versioned=True, grace=grace,
    )
    if isinstance(found, HttpResponse):
        return found
    application, key_pair = found
    try:
        issued = regenerate_secret(key_pair=key_pair, grace=grace, version=request.POST.get("version", ""))
    except SecretAlreadyRegenerated:
        messages.info(request, "This secret was already regenerated: the form was sent again (a page reload "
                      "re-sends it) or the secret changed since the page was shown. Nothing was changed; the "
                      "new secret was shown once. Regenerate again if you did not copy it.")
        return redirect(_tab_url(application, key_pair.environment))
    except TooManySecrets as error:
        messages.error(request, str(error))
        return redirect(_tab_url(application, key_pair.environment))
    return _application_page(request, application, key_pair.environment, issued=issued)


@require_POST
@login_required
def keys_revoke(request: HttpRequest, pk: int, environment: str) -> HttpResponse:
    found = _confirmed_key_pair(
        request, pk, environment, "Revoke keys",
        "The consumer key and secret are deleted and every live token issued with them is revoked. "
        "You can generate new keys afterwards.",
    )
    if isinstance(found, HttpResponse):
        return found
    application, key_pair = found
    revoke_keys(key_pair=key_pair)
    messages.success(request, "Keys revoked: the secret and every token issued with them no longer work.")
    return redirect(_tab_url(application, key_pair.environment))


@require_POST
@login_required
def tokens_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    application = _owned(request, pk)
    if not _confirmed(request):
        return _confirm(
            request, application, Environment.PRODUCTION, "Revoke all tokens",
            "Every access token issued so far to this application, in both environments, stops working, on every server within seconds. "
            "The keys stay; clients simply ask for new tokens.",
        )
    revoke_tokens(application=application)
    messages.success(request, "Revoked every token issued so far, in both environments.")
    return redirect("portal:application-detail", pk=application.pk)


def _tell_pending(request: HttpRequest, application: Application) -> None:
    if application.pending_scopes:
        messages.info(request, f"Pending an operator's approval: {application.pending_scopes}. "
                               "Tokens carry these scopes once they are approved.")


def _owned(request: HttpRequest, pk: int) -> Application:
    """The signed-in user's application; anyone else's is a 404, as if it did not exist."""
    return get_object_or_404(with_usage(owned_applications(owner=request.user)), pk=pk)


def _environment(name: str) -> str:
    if name not in Environment.values:
        raise Http404("No such environment.")
    return name


def _key_pair(application: Application, environment: str) -> KeyPair | None:
    return next((pair for pair in application.key_pairs.all() if pair.environment == environment), None)


def _tab_url(application: Application, environment: str) -> str:
    return reverse("portal:keys", kwargs={"pk": application.pk, "environment": environment})


def _confirmed(request: HttpRequest) -> bool:
    """Destructive actions need confirmed=yes: the confirm dialog adds it, else a confirmation page does."""
    return request.POST.get("confirmed") == "yes"


def _confirm(request, application, environment, action: str, consequence: str, *, version: str = "",
             grace: int | None = None) -> HttpResponse:
    """The confirmation page; a versioned one (regenerating) offers the grace choices, grace chosen."""
    choices = [(seconds, label, seconds == (grace or 0)) for seconds, label in GRACE_CHOICES] if version else []
    context = {"application": application, "action": action, "consequence": consequence,
               "cancel_url": _tab_url(application, environment), "version": version, "grace_choices": choices}
    return render(request, "portal/confirm.html", context)


def _confirmed_key_pair(
    request: HttpRequest, pk: int, environment: str, action: str, consequence: str, *, versioned: bool = False,
    grace: int | None = 0,
) -> tuple[Application, KeyPair] | HttpResponse:
    """The key pair a destructive action is for, once confirmed; else the page to show instead.

    A versioned confirmation also carries the secret's version (``secret_version``), so that the
    same confirmation sent twice acts once, and a grace choice (None: one not offered, asked again).
    """
    application, environment = _owned(request, pk), _environment(environment)
    if (key_pair := _key_pair(application, environment)) is None:
        messages.info(request, f"There are no keys to {action.split()[0].lower()}.")
        return redirect(_tab_url(application, environment))
    if not _confirmed(request) or (versioned and (not request.POST.get("version") or grace is None)):
        version = secret_version(key_pair) if versioned else ""
        return _confirm(request, application, environment, action, consequence, version=version, grace=grace)
    return application, key_pair


def _application_page(request, application, environment, *, issued: IssuedKeys | None = None) -> HttpResponse:
    urls = realm_urls(application.realm.name)  # its clients get tokens and keys from its realm only
    pairs = {pair.environment: pair for pair in application.key_pairs.all()}
    secrets = describe_secrets(application)
    context = {
        "application": application,
        "environment": environment,
        "tabs": [(value, label, pairs.get(value)) for value, label in Environment.choices],
        "key_pair": pairs.get(environment),
        "secret_version": secret_version(pairs[environment]) if environment in pairs else "",
        "shown": show_credentials(issued, token_endpoint=urls["token_endpoint"]) if issued else None,
        "realm_urls": urls,
        "audit_events": recent_events(application),
        "secrets": secrets.get(environment, []),
        "expiring_secrets": [row for rows in secrets.values() for row in rows if row.expires_soon],
        "grace_choices": GRACE_CHOICES,
        "rate_limit": rate_limit_in_effect(application),
    }
    return render(request, "portal/application_detail.html", context)
