from django.urls import path

from . import views

urlpatterns = [
    path("invoices", views.Invoices.as_view()),
    path("sandbox-invoices", views.SandboxInvoices.as_view()),
    path("open", views.open_view),
    path("process", views.process),
]
