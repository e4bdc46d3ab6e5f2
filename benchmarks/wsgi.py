"""WSGI application of the servers started by benchmarks/capture.py (bench_settings)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
