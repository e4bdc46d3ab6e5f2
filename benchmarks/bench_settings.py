"""Settings of the servers and clusters the benchmarks start: the test settings, plus

- capture switched on or off by BENCH_CAPTURE (1/0), for benchmarks/capture.py's servers;
- for those servers, persistent database connections (CONN_MAX_AGE: BENCH_CONN_MAX_AGE
  seconds, 60 unless set);
- with BENCH_CLUSTER=1, the django-q2 settings docs/scaling.md recommends (timeout < retry,
  a bounded success log, the default ORM poll interval), for the benchmark clusters.

The database is named by FLOWS_DB_NAME, the broker by FLOWS_TEST_BROKER (tests/settings.py).
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, Q_CLUSTER, WAGTAIL_FLOWS

WAGTAIL_FLOWS = {
    **WAGTAIL_FLOWS,
    "TRACKING_CONSENT": "always" if os.environ.get("BENCH_CAPTURE", "1") == "1" else "off",
}

# Persistent connections, as docs/operations.md recommends for a site on either database.
# On SQLite without them every request opens the file and closes it again, and the close of
# the last connection checkpoints the WAL (about 25 ms with the fsyncs): the server that
# writes a page view pays that on every request, the one that only reads does not.
if "BENCH_CAPTURE" in os.environ:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BENCH_CONN_MAX_AGE", "60"))

if os.environ.get("BENCH_CLUSTER") == "1":
    Q_CLUSTER = {**Q_CLUSTER, "timeout": 60, "retry": 120, "save_limit": 250, "poll": 0.2}
