"""No admin page filters, orders or searches on a secret column, or loads one.

Secret columns are the stored forms of secrets: ``private_key`` (encrypted signing keys),
``token_hash``, ``secret_hash`` and Django's ``password`` hashes. A filter on one lets a view-only
staff user read it back by binary search (``?private_key__lt=...``), one answer at a time.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse

from clients.admin_keys import ClientSecretInline
from clients.models import ClientSecret, KeyPair
from clients.services import generate_keys
from oauthserver.admin_site import SECRET_COLUMNS, GuardedAdminSite
from tokens.keystore import rotate_signing_key
from tokens.models import SigningKey


def secret_paths(model, depth: int = 2, prefix: str = ""):
    """Every lookup path from model to a secret column, across up to depth relations."""
    for field in model._meta.get_fields():
        if not field.is_relation and field.name in SECRET_COLUMNS:
            yield prefix + field.name
        elif field.is_relation and field.related_model and depth:
            yield from secret_paths(field.related_model, depth - 1, f"{prefix}{field.name}__")


REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
PROBES = [
    pytest.param(model, path + lookup, id=f"{model._meta.label}?{path}{lookup}")
    for model, _ in REGISTERED
    for path in sorted(set(secret_paths(model)))
    for lookup in ("__lt", "__startswith")
]


@pytest.fixture
def viewer(client, django_user_model, db):
    """A staff user who may view every registered model and change nothing."""
    user = django_user_model.objects.create_user("viewer", password="a long password 9", is_staff=True)
    for model, _ in REGISTERED:
        user.user_permissions.add(Permission.objects.get(
            content_type__app_label=model._meta.app_label, codename=f"view_{model._meta.model_name}"))
    client.force_login(user)
    return client


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_registered_model_reaches_some_secret_column():
    # The probes below would prove nothing if the walk found no paths.
    assert {"tokens.SigningKey", "tokens.AccessToken", "clients.Application", "audit.AuditEvent", "auth.User"} <= {
        model._meta.label for model, _ in REGISTERED if any(True for _ in secret_paths(model))}


@pytest.mark.parametrize("model, lookup", PROBES)
def test_a_filter_on_a_secret_column_is_refused_on_every_admin_page(viewer, model, lookup):
    assert viewer.get(changelist(model)).status_code == 200
    response = viewer.get(changelist(model), {lookup: "M"})
    assert response.status_code == 400
    assert b"result_list" not in response.content


def test_binary_search_on_the_private_key_gets_no_answer(viewer):
    rotate_signing_key()
    stored = SigningKey.objects.filter(role="active").values_list("private_key", flat=True).get()
    answers = {viewer.get(changelist(SigningKey), {"private_key__lt": bound}).status_code for bound in ("", "g", stored)}
    assert answers == {400}


@pytest.mark.parametrize("model, model_admin", REGISTERED, ids=[model._meta.label for model, _ in REGISTERED])
def test_every_admin_defers_secret_columns(model, model_admin, admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    deferred, is_defer = model_admin.get_queryset(request).query.deferred_loading
    secret = {field.attname for field in model._meta.concrete_fields if field.name in SECRET_COLUMNS}
    assert is_defer and secret <= set(deferred)


def test_the_secrets_inline_loads_no_secret_hash(admin_client, make_application):
    application = make_application("billing")
    generate_keys(application=application)
    pair = KeyPair.objects.get()
    page = admin_client.get(reverse("admin:clients_keypair_change", args=[pair.pk]))
    formset = next(formset for formset in page.context["inline_admin_formsets"] if formset.opts.model is ClientSecret)
    assert [secret.get_deferred_fields() for secret in formset.formset.queryset] == [{"secret_hash"}]
    assert issubclass(type(formset.opts), ClientSecretInline)


def test_an_admin_that_names_a_secret_column_gets_no_search_ordering_or_sortable_column(admin_user, db):
    class CarelessSecretAdmin(admin.ModelAdmin):
        list_display = ("label", "hashed")
        search_fields = ("=secret_hash", "label", "key_pair__application__key_pairs__secrets__secret_hash")
        ordering = ("-secret_hash", "label")

        @admin.display(ordering="secret_hash")
        def hashed(self, pair):
            return "-"

    site = GuardedAdminSite(name="careless")
    site.register(ClientSecret, CarelessSecretAdmin)
    model_admin = site._registry[ClientSecret]
    request = RequestFactory().get("/", {"o": "2.1"})
    request.user = admin_user
    assert model_admin.get_search_fields(request) == ["label"]
    assert model_admin.get_ordering(request) == ["label"]
    changelist = model_admin.get_changelist_instance(request)
    assert changelist.get_ordering_field("hashed") is None
    assert "secret_hash" not in str(changelist.get_queryset(request).query.order_by)
    assert not model_admin.to_field_allowed(request, "secret_hash")
