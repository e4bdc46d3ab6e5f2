"""Contact imports: rows per second for a generated file, check and import phases apart.

    python benchmarks/imports.py [--rows N] [--postgres]
    python benchmarks/imports.py --both [--rows N]      # SQLite and PostgreSQL side by side

A CSV of N rows (default 100,000: email, first and last name, a number property, two tags)
goes through the job's own code path (``engine.imports``): ``create_import`` (the upload:
header, preview, row count), then the check phase and the import phase exactly as
``run_import`` runs them, in batches of ``IMPORT_BATCH_SIZE``. Consent "stated" (no emails
are sent: delivery is not what is measured) and every row added to a list. Then the same
file again with "update": every row matches an existing contact.

Also printed: the queries of one import batch (constant whatever the batch holds).
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    ROOT,
    create_database,
    database_label,
    destroy_database,
    load_line,
    setup_django,
)

if __name__ == "__main__" and "--both" not in sys.argv:
    setup_django()


def generate_csv(rows):
    lines = ["Email,First name,Last name,Company size,Tags"]
    for i in range(rows):
        lines.append(f"person{i}@example.com,First{i},Last{i},{i % 5000},expo; group{i % 7}")
    return ("\n".join(lines) + "\n").encode()


def timed(func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - started


def one_import(content, existing):
    from django.db import connection

    from wagtail_flows.engine import imports as importing
    from wagtail_flows.models import ContactList

    (contact_import, _preview), upload_s = timed(importing.create_import, "bench.csv", content)
    contact_import.consent = "stated"
    contact_import.consent_basis = "Benchmark"
    contact_import.existing = existing
    contact_import.contact_list = ContactList.objects.get_or_create(name="Benchmark")[0]
    importing.start_import(contact_import, background=False)
    job = importing.Job(contact_import)
    cursor, check_s = timed(importing._check_phase, job, 1, None, None, None)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    first_batch = next(job.batches(1))
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        importing.import_batch(job, first_batch, 1, first_batch[-1][0])
    importing._import_phase(job, first_batch[-1][0], None, None, None)
    import_s = time.perf_counter() - started
    contact_import.refresh_from_db()
    assert contact_import.status == "done", contact_import.status
    rows = contact_import.total_rows
    return {
        "rows": rows,
        "upload_s": upload_s,
        "check_s": check_s,
        "import_s": import_s,
        "check_rows_s": rows / check_s,
        "import_rows_s": rows / import_s,
        "total_rows_s": rows / (check_s + import_s),
        "created": contact_import.created_count,
        "updated": contact_import.updated_count,
        "batch_rows": len(first_batch),
        "batch_queries": len(queries),
    }


def measure(rows):
    from wagtail_flows.models import ContactProperty

    name = create_database()
    try:
        ContactProperty.objects.create(key="company_size", label="Company size", type="number")
        content = generate_csv(rows)
        new = one_import(content, "update")
        update = one_import(content, "update")
        return {"database": database_label(), "bytes": len(content), "new": new, "update": update}
    finally:
        destroy_database(name)


def run_child(rows, postgres):
    args = [sys.executable, os.path.abspath(__file__), "--rows", str(rows), "--json"]
    if postgres:
        args.append("--postgres")
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results):
    names = [r["database"] for r in results]
    lines = [f"{'':38}" + "".join(f"{n:>16}" for n in names)]

    def row(label, key, phase, fmt):
        values = "".join(f"{fmt.format(r[phase][key]):>16}" for r in results)
        lines.append(f"{label:38}{values}")

    for phase, title in (("new", "new contacts"), ("update", "all existing (update)")):
        lines.append(f"-- {results[0][phase]['rows']:,} rows, {title}")
        row("  upload (read, preview, count) s", "upload_s", phase, "{:.2f}")
        row("  check phase s", "check_s", phase, "{:.2f}")
        row("  check rows/s", "check_rows_s", phase, "{:,.0f}")
        row("  import phase s", "import_s", phase, "{:.2f}")
        row("  import rows/s", "import_rows_s", phase, "{:,.0f}")
        row("  check + import rows/s", "total_rows_s", phase, "{:,.0f}")
        row("  queries in one batch", "batch_queries", phase, "{}")
        row("  rows in that batch", "batch_rows", phase, "{}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--both", action="store_true", help="SQLite and PostgreSQL")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.both:
        results = [run_child(args.rows, False), run_child(args.rows, True)]
    else:
        results = [measure(args.rows)]
        if args.json:
            print(json.dumps(results[0]))
            return
    print(f"Contact import, {args.rows:,} generated rows ({results[0]['bytes']:,} bytes CSV)")
    print(load_line())
    print(table(results))


if __name__ == "__main__":
    main()
