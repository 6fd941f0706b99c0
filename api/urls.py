from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^hello/?\Z", views.HelloView.as_view(), name="hello"),
]
