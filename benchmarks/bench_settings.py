"""Settings of the WSGI servers started by benchmarks/capture.py: the test settings, with
capture switched on or off by BENCH_CAPTURE (1/0) and the database named by FLOWS_DB_NAME."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import WAGTAIL_FLOWS

WAGTAIL_FLOWS = {
    **WAGTAIL_FLOWS,
    "TRACKING_CONSENT": "always" if os.environ.get("BENCH_CAPTURE", "1") == "1" else "off",
}
