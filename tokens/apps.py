from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens and signing keys"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the security settings checks)
