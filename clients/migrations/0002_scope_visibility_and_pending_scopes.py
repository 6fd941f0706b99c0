"""Scopes get a visibility; every existing scope is restricted, the safe choice.

Nothing that works stops working: visibility decides only what a developer may take in the portal
from now on, never what an application already holds, so existing grants (the demo's ``read``
included) are left as they are. A migration cannot tell a demo's ``read`` from a production
``read`` that guards real data, so making a scope public is left to its owner (admin, Scopes).
Scope names that applications hold but the registry lacks (the admin took free text) are added
to it, restricted, so that the registry lists every scope in use and edits validate against it.
"""

from django.db import migrations, models


def register_scopes_in_use(apps, schema_editor):
    Application = apps.get_model("clients", "Application")
    Scope = apps.get_model("clients", "Scope")
    in_use = set()
    for scopes in Application.objects.values_list("scopes", flat=True).iterator():
        in_use.update(name for name in scopes.split(" ") if name)
    known = set(Scope.objects.values_list("name", flat=True))
    Scope.objects.bulk_create(
        [Scope(name=name, visibility="restricted") for name in sorted(in_use - known) if len(name) <= 100]
    )


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='pending_scopes',
            field=models.CharField(blank=True, help_text='Requested by the developer; approve or deny them with the actions of the application list.', max_length=1000, verbose_name='scopes pending approval'),
        ),
        migrations.AddField(
            model_name='scope',
            name='visibility',
            field=models.CharField(choices=[('public', 'Public: developers take it themselves in the portal'), ('restricted', 'Restricted: an operator grants it')], default='restricted', help_text="Public scopes are granted to any developer who asks in the portal; a portal request for a restricted one waits for an operator's approval.", max_length=10),
        ),
        migrations.AlterField(
            model_name='application',
            name='default_scopes',
            field=models.CharField(blank=True, help_text='Granted when a token request names no scope; among the allowed (or pending) scopes.', max_length=1000),
        ),
        migrations.AlterField(
            model_name='application',
            name='scopes',
            field=models.CharField(blank=True, help_text='Space-separated names from the scope registry.', max_length=1000, verbose_name='allowed scopes'),
        ),
        migrations.RunPython(register_scopes_in_use, migrations.RunPython.noop),
    ]
