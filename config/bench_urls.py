"""URLs of the benchmark server: production's, plus the bench-only ceiling view.

``bench/ceiling`` must never appear in ``config/urls.py``; only
``config.settings.bench`` points ``ROOT_URLCONF`` here.
"""

from __future__ import annotations

from django.urls import path

from bench.ceiling import CeilingApi
from config.urls import handler404, handler500
from config.urls import urlpatterns as production_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [
    *production_urlpatterns,
    path("bench/ceiling", CeilingApi.as_view(), name="bench-ceiling"),
]
