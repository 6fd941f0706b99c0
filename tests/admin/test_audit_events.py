"""The audit trail in the admin: events listed with filters, never added, changed or deleted."""

from audit.models import AuditEvent


def test_the_admin_lists_events_with_filters_and_never_edits_them(make_keys, admin_client):
    make_keys()
    response = admin_client.get("/admin/audit/auditevent/?action__exact=secret_generated")
    assert response.status_code == 200
    assert b"Keys generated" in response.content and b"Application created</td>" not in response.content
    assert b"By action" in response.content and b"By environment" in response.content
    event = AuditEvent.objects.first()
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    change = admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "token_issued"})
    assert change.status_code == 403
    event.refresh_from_db()
    assert event.action != "token_issued"
