"""Replace client ids and usernames that matched nobody, recorded before issue 11, by their digest.

They are often a secret sent in the wrong field (a client that swapped its id and secret, a
password typed into the username box). Same form as ``audit.services.digest_unknown_identifier``,
spelled out here so that this migration keeps its meaning whatever that function becomes.
"""

from django.conf import settings
from django.db import migrations
from django.utils.crypto import salted_hmac

BATCH = 1000


def _digest(value: str) -> str:
    digest = salted_hmac("audit.unknown-identifier", value.encode("utf-8", "surrogatepass"), algorithm="sha256")
    return f"unknown:{digest.hexdigest()[:12]}"


def digest_unknown_identifiers(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    KeyPair = apps.get_model("clients", "KeyPair")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    known_ids = set(KeyPair.objects.values_list("client_id", flat=True))
    failed_clients = AuditEvent.objects.filter(action="client_auth_failed").exclude(client_id__startswith="unknown:")
    for event in failed_clients.exclude(client_id__in=known_ids).iterator(chunk_size=BATCH):
        event.client_id = _digest(event.client_id)
        event.save(update_fields=["client_id"])
    username_field = getattr(User, "USERNAME_FIELD", "username")  # historical models may lack it
    known_users = set(User.objects.values_list(username_field, flat=True))
    for event in AuditEvent.objects.filter(action="sign_in_failed").iterator(chunk_size=BATCH):
        username = event.details.get("username") if isinstance(event.details, dict) else None
        if isinstance(username, str) and username not in known_users and not username.startswith("unknown:"):
            event.details = {**event.details, "username": _digest(username)}
            event.save(update_fields=["details"])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_scope_decisions"),
        ("clients", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(digest_unknown_identifiers, migrations.RunPython.noop)]
