"""The project's URLs plus the benchmark's ceiling view: ``ROOT_URLCONF`` only while ``BENCH_CEILING`` is on.

``make bench`` turns it on for the servers it starts, so that no deployment serves the ceiling.
"""

from django.urls import path

from . import views
from .urls import urlpatterns as project_urlpatterns

urlpatterns = [path("bench/ceiling", views.ceiling, name="bench-ceiling"), *project_urlpatterns]
