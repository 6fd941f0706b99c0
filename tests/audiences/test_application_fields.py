"""An application's allowed audiences and default audience (RFC 8707): the model, the portal, the admin and createclient."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from clients.models import Application
from clients.services import create_application, update_application
from tests.audiences.conftest import BILLING, FILES
from tests.portal.conftest import developer, portal, scopes  # noqa: F401 (fixtures)
from tests.portal.test_applications import VALID, field_block

pytestmark = pytest.mark.django_db


def test_audiences_are_stored_one_space_apart_without_repeats():
    application = create_application(name="a", audiences=f"  {BILLING}\t{FILES} {BILLING} ", default_audience=FILES)
    assert (application.audiences, application.default_audience) == (f"{BILLING} {FILES}", FILES)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"audiences": "billing.example.com"}, "audiences", "Not an absolute URI without a fragment: billing.example.com."),
    ({"audiences": f"{BILLING}#top"}, "audiences", f"Not an absolute URI without a fragment: {BILLING}#top."),
    ({"audiences": "https://[::1"}, "audiences", "Not an absolute URI without a fragment: https://[::1."),
    ({"audiences": "http://:80"}, "audiences", "Not an absolute URI without a fragment: http://:80."),
    ({"audiences": "https://a.example.com:99999999"}, "audiences", "Not an absolute URI without a fragment"),
    ({"audiences": " ".join(f"https://api{n}.example" for n in range(21))}, "audiences", "At most 20 audiences."),
    ({"audiences": BILLING, "default_audience": FILES}, "default_audience",
     "The default audience must be one of the allowed audiences."),
    ({"default_audience": BILLING}, "default_audience", "The default audience must be one of the allowed audiences."),
])
def test_bad_audiences_are_refused_by_field(fields, field, message):
    with pytest.raises(ValidationError) as error:
        create_application(name="a", **fields)
    assert message in " ".join(error.value.message_dict[field])
    assert not Application.objects.exists()


def test_a_developer_edits_the_audiences(make_application):
    application = make_application()
    update_application(application=application, audiences=f"{FILES}  {BILLING}", default_audience=BILLING)
    application.refresh_from_db()
    assert (application.audiences, application.default_audience) == (f"{FILES} {BILLING}", BILLING)


def test_the_portal_form_takes_and_shows_audiences(portal, scopes):
    response = portal.post("/portal/applications/new/", {**VALID, "audiences": f"{BILLING} {FILES}",
                                                          "default_audience": FILES})
    application = Application.objects.get(name="Reports")
    assert response.status_code == 302
    assert (application.audiences, application.default_audience) == (f"{BILLING} {FILES}", FILES)
    page = portal.get(f"/portal/applications/{application.pk}/").content.decode()
    assert f'<code class="audience">{FILES}</code> <span class="muted">(default)</span>' in page
    form = portal.get(f"/portal/applications/{application.pk}/edit/").content.decode()
    assert f'value="{BILLING} {FILES}"' in form


def test_the_portal_form_shows_a_bad_audience_beside_its_field(portal, scopes):
    response = portal.post("/portal/applications/new/", {**VALID, "audiences": "not-a-uri"})
    assert response.status_code == 200
    assert "Not an absolute URI without a fragment: not-a-uri." in field_block(response, "audiences")
    assert not Application.objects.exists()


def test_the_admin_edits_audiences(admin_client, make_application):
    application = make_application()
    page = admin_client.get(f"/admin/clients/application/{application.pk}/change/").content.decode()
    assert 'name="audiences"' in page and 'name="default_audience"' in page


def test_createclient_takes_audiences_and_a_default():
    out = StringIO()
    call_command("createclient", "billing-worker", "--audiences", f"{BILLING} {FILES}", "--default-audience", BILLING,
                 stdout=out)
    printed = json.loads(out.getvalue())
    assert (printed["audiences"], printed["default_audience"]) == (f"{BILLING} {FILES}", BILLING)
    assert Application.objects.get(name="billing-worker").default_audience == BILLING


def test_createclient_refuses_a_default_not_allowed():
    with pytest.raises(CommandError) as error:
        call_command("createclient", "w", "--audiences", BILLING, "--default-audience", FILES, stdout=StringIO())
    assert str(error.value) == "default_audience: The default audience must be one of the allowed audiences."
