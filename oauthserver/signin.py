"""Sign-in to the portal and the admin, throttled.

Failed sign-ins are counted per (username, source address) and per address (``OAUTH_LOCKOUT_*``,
``OAUTH_SIGN_IN_ADDRESS_THRESHOLD``); past a threshold the form refuses before the password is
checked, and the page answers 429 with ``Retry-After``. Unlike a client secret, a password can be
guessed, so a locked sign-in refuses the right password too; counting per address keeps the
owner of a username able to sign in from anywhere else. Each failure is an audit event naming
the username only if such a user exists.
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpResponse

from audit.context import current_address
from audit.models import AuditAction
from audit.services import digest_unknown_identifier, record_event
from tokens.protocol.errors import TooManyRequests
from clients.lockout import check_sign_in_lockout, record_sign_in_failure


class SignInThrottle:
    """Mixed into Django's authentication forms: refuse while locked out, count failures."""

    retry_after: int | None = None

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = current_address()
        try:
            check_sign_in_lockout(username=username, address=address)
        except TooManyRequests as locked:
            self.retry_after = locked.retry_after
            raise ValidationError(
                "Too many failed sign-ins. Try again in %(seconds)s seconds.",
                code="locked_out",
                params={"seconds": locked.retry_after},
            ) from None
        try:
            return super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                record_sign_in_failure(username=username, address=address)
                record_event(AuditAction.SIGN_IN_FAILED, details={"username": _recordable(username)}, user=None)
            raise


def _recordable(username: str) -> str:
    """The username as typed when such a user exists; else its digest, for it may be a password."""
    users = get_user_model()._default_manager
    exists = users.filter(**{users.model.USERNAME_FIELD: username}).exists()
    return username if exists else digest_unknown_identifier(username)


class ThrottledAuthenticationForm(SignInThrottle, AuthenticationForm):
    """The portal's sign-in form."""


class ThrottledAdminAuthenticationForm(SignInThrottle, AdminAuthenticationForm):
    """The admin's sign-in form (staff only, as Django's)."""


def answer_429_when_locked(response: HttpResponse) -> HttpResponse:
    """Turn a sign-in page refused for lockout into 429 with ``Retry-After`` (RFC 6585 §4)."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    if getattr(form, "retry_after", None):
        response.status_code = 429
        response["Retry-After"] = str(form.retry_after)
    return response


class ThrottledLoginView(LoginView):
    """``LoginView`` with the throttled form; use it for the portal's sign-in page."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        return answer_429_when_locked(super().form_invalid(form))


def throttle_admin_sign_in(site) -> None:
    """Give an admin site the throttled form and the 429 answer."""
    site.login_form = ThrottledAdminAuthenticationForm
    login = site.login

    def throttled_login(request, extra_context=None):
        return answer_429_when_locked(login(request, extra_context))

    site.login = throttled_login
