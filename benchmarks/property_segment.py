"""Typed contact properties: counting a segment on one property over 1,000,000 contacts.

    python benchmarks/property_segment.py [--postgres] [--contacts N] [--rounds R]

Makes N contacts (default 1,000,000) with a number property ``company_size`` (0-999, spread
evenly), defined in the admin sense (ContactProperty + one PropertyValue row each, and the
JSON copy in Contact.properties), then counts the segment "company_size is at least T" for
two thresholds (10% and 50% of contacts), side by side in one run: ``conditions.count`` (a
lone typed condition counted on the (property, number) index alone), ``to_q`` as any
segment with more conditions uses it (the index range as a ``pk IN`` subquery on the
contacts), and the same filter on the JSON copy (the path of a free-form key). Times are
medians of R rounds. Target: the typed count under 2 s.
"""

import argparse
import functools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    analyze,
    create_database,
    database_label,
    destroy_database,
    insert_rows,
    load_line,
    median,
    setup_django,  # noqa: E402
    verdict,
)

setup_django()

TARGET_SECONDS = 2.0


def populate(count):
    """Set-up only (raw INSERT … SELECT): contacts, their JSON copy, their typed rows."""
    from django.db import connection

    from wagtail_flows.models import Contact, ContactProperty, PropertyValue

    prop = ContactProperty.objects.create(key="company_size", label="Company size", type="number")
    if connection.vendor == "postgresql":
        properties = "jsonb_build_object('company_size', g %% 1000)"
        number = "(properties ->> 'company_size')::numeric"
    else:
        properties = "json_object('company_size', g %% 1000)"
        number = "json_extract(properties, '$.company_size')"
    started = time.perf_counter()
    insert_rows(
        Contact,
        count,
        columns={"email": "'c' || g || '@example.com'", "properties": properties},
    )
    table = connection.ops.quote_name(Contact._meta.db_table)
    insert_rows(
        PropertyValue,
        columns={"contact_id": "id", "property_id": str(prop.pk), "number": number},
        source=f"FROM {table}",
    )
    analyze()
    return prop, time.perf_counter() - started


def timed(function, rounds):
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return result, median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from wagtail_flows.flows import conditions
    from wagtail_flows.models import Contact, Segment

    name = create_database()
    rows = []
    try:
        _prop, setup_seconds = populate(args.contacts)
        for threshold in (900, 500):
            segment = Segment(
                name="Big companies",
                conditions=[
                    {
                        "type": "property",
                        "value": {
                            "name": "company_size",
                            "operator": "gte",
                            "value": str(threshold),
                        },
                    }
                ],
            )
            count_alone = functools.partial(conditions.count, segment.conditions)
            typed, typed_s = timed(count_alone, args.rounds)
            joined, joined_s = timed(segment.contacts().count, args.rounds)
            json_q = conditions.properties.q_json_property("company_size", "gte", str(threshold))
            on_json, json_s = timed(Contact.objects.filter(json_q).count, args.rounds)
            assert typed == joined == on_json, (typed, joined, on_json)
            rows.append((threshold, typed, typed_s, joined_s, json_s))
    finally:
        destroy_database(name)
    print(f"\n=== property segment count ({database_label()}, {args.contacts:,} contacts) ===")
    print(f"set-up (raw INSERT … SELECT of contacts and typed rows): {setup_seconds:.1f} s")
    for threshold, count, typed_s, joined_s, json_s in rows:
        print(
            f"company_size >= {threshold}: {count:,} contacts — "
            f"typed index alone (conditions.count) {typed_s:.3f} s, "
            f"typed table joined to contacts (to_q) {joined_s:.3f} s, "
            f"JSON copy {json_s:.3f} s"
        )
    worst = max(row[2] for row in rows)
    print(f"target typed count < {TARGET_SECONDS} s: {verdict(worst < TARGET_SECONDS)}")
    print(load_line())


if __name__ == "__main__":
    main()
