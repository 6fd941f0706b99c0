"""Scope requests in the portal: public scopes are self-service, restricted ones wait for an operator.

RFC 6749 §3.3: the authorization server decides which scopes a client gets. A developer who asks
for a restricted scope gets it as pending; tokens never carry a pending scope (asking for it is
invalid_scope, §5.2) until an operator approves it in the admin.
"""

from django.contrib.admin import helpers

from audit.models import AuditAction, AuditEvent
from clients.models import Application
from clients.services import generate_keys
from tests.portal.test_applications import VALID

APPLICATIONS = "/admin/clients/application/"


def register(portal, **changes) -> Application:
    response = portal.post("/portal/applications/new/", {**VALID, **changes})
    assert response.status_code == 302, response.context["form"].errors
    return Application.objects.get(name=changes.get("name", VALID["name"]))


def admin_action(admin_client, action: str, application: Application):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [application.pk]}
    return admin_client.post(APPLICATIONS, data, follow=True)


def test_a_restricted_scope_waits_for_approval_and_only_then_is_in_tokens(portal, scopes, admin_client, request_token):
    application = register(portal, scopes=["read", "payments:admin"], default_scopes=["read", "payments:admin"])
    assert (application.scopes, application.pending_scopes) == ("read", "payments:admin")
    keys = generate_keys(application=application)

    assert request_token(keys).json()["scope"] == "read"  # the default leaves out what is pending
    refused = request_token(keys, scope="payments:admin")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"

    pending = admin_client.get(APPLICATIONS, {"pending": "yes"})
    assert [app.name for app in pending.context["cl"].result_list] == ["Reports"]
    response = admin_action(admin_client, "approve_scopes", application)
    assert "Approved Reports: payments:admin." in response.content.decode()
    application.refresh_from_db()
    assert (application.scopes, application.pending_scopes) == ("payments:admin read", "")
    approved = AuditEvent.objects.get(action=AuditAction.SCOPES_APPROVED)
    assert (approved.application, approved.user.username, approved.details) == (
        application, "admin", {"scopes": "payments:admin"})

    assert request_token(keys).json()["scope"] == "payments:admin read"
    assert request_token(keys, scope="payments:admin").json()["scope"] == "payments:admin"


def test_public_scopes_are_granted_at_once(portal, scopes, request_token):
    application = register(portal, scopes=["read", "write"], default_scopes=["write"])
    assert (application.scopes, application.pending_scopes) == ("read write", "")
    assert request_token(generate_keys(application=application)).json()["scope"] == "write"


def test_the_portal_shows_pending_scopes(portal, scopes):
    form = portal.get("/portal/applications/new/").content.decode()
    assert "payments:admin · Move money (needs an operator&#x27;s approval)" in form
    assert " read · Read your data</label>" in form and " write</label>" in form  # public: no approval
    response = portal.post("/portal/applications/new/", {**VALID, "scopes": ["read", "payments:admin"]}, follow=True)
    detail = response.content.decode()
    assert "Pending an operator&#x27;s approval: payments:admin." in detail
    pending = detail[detail.index("<dt>Pending approval</dt>"):]
    assert pending.startswith('<dt>Pending approval</dt><dd><code class="scope">payments:admin</code>')
    assert '<span class="badge badge-pending">pending approval</span>' in pending[:300]
    allowed = detail[detail.index("<dt>Allowed scopes</dt>"):detail.index("<dt>Pending approval</dt>")]
    assert "payments:admin" not in allowed and '<code class="scope">read</code>' in allowed
    listing = portal.get("/portal/").content.decode()
    assert '<code class="scope">payments:admin</code> <span class="badge badge-pending">pending approval</span>' in listing
    edit = portal.get(f"/portal/applications/{Application.objects.get().pk}/edit/")
    assert edit.context["form"]["scopes"].value() == ["payments:admin", "read"]  # still asked for


def test_an_edit_keeps_what_was_granted_and_new_restricted_scopes_wait(portal, own_app):
    own_app.scopes = "read write payments:admin"  # granted by an operator earlier
    own_app.save()
    url = f"/portal/applications/{own_app.pk}/edit/"
    assert portal.post(url, {**VALID, "scopes": ["read", "payments:admin"]}).status_code == 302
    own_app.refresh_from_db()
    assert (own_app.scopes, own_app.pending_scopes) == ("payments:admin read", "")  # write given up, nothing waits

    own_app.scopes, own_app.pending_scopes = "read", ""
    own_app.save()
    portal.post(url, {**VALID, "scopes": ["read", "payments:admin"]})
    own_app.refresh_from_db()
    assert (own_app.scopes, own_app.pending_scopes) == ("read", "payments:admin")
    changed = AuditEvent.objects.filter(action=AuditAction.APPLICATION_CHANGED).first()
    assert "pending_scopes" in changed.details["fields"]

    portal.post(url, {**VALID, "scopes": ["read"]})  # the developer withdraws the request
    own_app.refresh_from_db()
    assert (own_app.scopes, own_app.pending_scopes) == ("read", "")


def test_an_operator_denies_a_request(portal, scopes, admin_client, request_token):
    application = register(portal, scopes=["read", "payments:admin"], default_scopes=["read", "payments:admin"])
    response = admin_action(admin_client, "deny_scopes", application)
    assert "Denied Reports: payments:admin." in response.content.decode()
    application.refresh_from_db()
    assert (application.scopes, application.pending_scopes, application.default_scopes) == ("read", "", "read")
    denied = AuditEvent.objects.get(action=AuditAction.SCOPES_DENIED)
    assert (denied.application, denied.details) == (application, {"scopes": "payments:admin"})
    keys = generate_keys(application=application)
    assert request_token(keys, scope="payments:admin").json()["error"] == "invalid_scope"
    again = admin_action(admin_client, "approve_scopes", application)
    assert "No pending scopes among the selected applications." in again.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.SCOPES_APPROVED).exists()
