from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Applications"

    def ready(self) -> None:
        from .models import Application, ClientSecret, KeyPair, Realm
        from .realms import forget_realms
        from .registry import forget_clients

        # Every save and delete, the admin's forms included, makes processes read clients again
        # (as django.contrib.sites empties its cache); bulk update() calls forget_clients itself.
        def forget(**kwargs) -> None:
            forget_clients()

        for model in (Application, KeyPair, ClientSecret):
            post_save.connect(forget, sender=model, weak=False, dispatch_uid=f"forget-clients-save-{model.__name__}")
            post_delete.connect(forget, sender=model, weak=False, dispatch_uid=f"forget-clients-delete-{model.__name__}")

        def forget_realm(**kwargs) -> None:
            forget_realms()

        post_save.connect(forget_realm, sender=Realm, weak=False, dispatch_uid="forget-realms-save")
        post_delete.connect(forget_realm, sender=Realm, weak=False, dispatch_uid="forget-realms-delete")
