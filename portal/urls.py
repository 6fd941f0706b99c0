from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.application_list, name="application-list"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("signup/", views.sign_up, name="signup"),
    path("applications/new/", views.application_create, name="application-create"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application-edit"),
    path("applications/<int:pk>/tokens/revoke/", views.tokens_revoke, name="tokens-revoke"),
    path("applications/<int:pk>/keys/<slug:environment>/", views.application_detail, name="keys"),
    path("applications/<int:pk>/keys/<slug:environment>/generate/", views.keys_generate, name="keys-generate"),
    path("applications/<int:pk>/keys/<slug:environment>/regenerate/", views.keys_regenerate, name="keys-regenerate"),
    path("applications/<int:pk>/keys/<slug:environment>/revoke/", views.keys_revoke, name="keys-revoke"),
]
