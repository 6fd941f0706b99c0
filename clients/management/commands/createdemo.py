"""Register the ``demo`` application on a fresh install and print how to use it."""

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from clients.models import Application, ScopeVisibility, default_realm_pk
from clients.scope_grants import register_scopes
from clients.services import create_application, generate_keys


class Command(BaseCommand):
    help = "When no application exists yet, register 'demo' (scope read) and print its keys."

    def handle(self, *args, **options):
        with transaction.atomic():
            if Application.objects.exists():
                return
            # A fresh demo install: `read` is public so the portal's walkthrough needs no operator.
            # An existing `read` keeps the visibility its owner chose.
            register_scopes(["read"], realm_id=default_realm_pk(), visibility=ScopeVisibility.PUBLIC)
            application = create_application(name="demo", scopes="read", description="Made by make run.")
            keys = generate_keys(application=application)
        token_url = f"{settings.OAUTH_ISSUER}/oauth/token"
        curl = (
            f"curl -s -u {shlex.quote(keys.client_id + ':' + keys.client_secret)} "
            f"-d grant_type=client_credentials {token_url}"
        )
        self.stdout.write(
            "\nRegistered the demo application (scope: read). The secret is shown only this once.\n"
            f"  client_id:     {keys.client_id}\n"
            f"  client_secret: {keys.client_secret}\n"
            f"Get a token:\n  {curl}\n"
        )
