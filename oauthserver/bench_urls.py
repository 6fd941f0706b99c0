"""The project's URLs plus the benchmark's ceiling view: ``ROOT_URLCONF`` only while ``BENCH_CEILING`` is on.

``make bench`` turns it on for the servers it starts, so that no deployment serves the ceiling.
"""

from django.urls import path

from . import views
from .urls import urlpatterns as project_urlpatterns

# Where it stood among the project's URLs before: resolved after the OAuth and API routes, as a
# view of the project would be.
_after = next(index for index, pattern in enumerate(project_urlpatterns) if str(pattern.pattern) == "healthz") + 1
urlpatterns = [
    *project_urlpatterns[:_after], path("bench/ceiling", views.ceiling, name="bench-ceiling"), *project_urlpatterns[_after:]
]
