"""P3 email: personalised messages/s, cached inlined page vs premailer per message; and
messages/s delivered to a local SMTP sink (aiosmtpd on 127.0.0.1, loopback only).

    python benchmarks/emails.py [--postgres] [--messages N] [--rounds R]

Rates are given per wall-clock second and per CPU second of this process (the machine is
shared, so wall rates understate what an idle machine does; the ratio is the figure).

Both sides of the ratio run in the same process, interleaved round by round, and the
median of the per-round ratios is reported (the machine is shared: absolute times vary).
Figures are printed last.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    create_database,
    database_label,
    destroy_database,
    load_line,
    median,
    realistic_body,
    setup_django,
)

from wagtail_flows.emails.rendering import (
    base_url_for,
    personalise,
    prepare_page,
    prepare_revision,
    render_email,
)

setup_django()


def make_messages(count):
    from tests.factories import ContactFactory, make_email_page
    from wagtail_flows.models import Contact, Message

    page = make_email_page(
        subject="Spring picks for {{ contact.first_name }}", body=realistic_body()
    )
    page.refresh_from_db()
    revision = page.live_revision
    ContactFactory()  # one through the factory, the rest in bulk
    Contact.objects.bulk_create(
        Contact(email=f"reader{i}@example.com", first_name=f"Reader{i}", status="subscribed")
        for i in range(count)
    )
    contacts = list(Contact.objects.filter(email__startswith="reader"))
    Message.objects.bulk_create(
        Message(contact=c, page=page, revision=revision, to_email=c.email) for c in contacts
    )
    return revision, list(Message.objects.select_related("contact", "flow").order_by("pk"))


def rates(func, messages, *args):
    """Messages per wall-clock second and per CPU second of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    for message in messages:
        func(message, *args)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(messages) / wall, len(messages) / max(cpu, 1e-9)


def render_cached(message, revision):

    render_email(revision, message.contact, message=message)


def render_premailer(message, page):
    """What the design avoids: render and inline the page again for each message."""

    prepared = prepare_page(page, base_url_for(page))
    personalise(prepared, message.contact, message=message, base_url=prepared.base_url)


def render_ratio(revision, messages, rounds):
    """Interleaved rounds: cached inlined page vs premailer per message."""

    page = revision.as_object()
    html_size = len(prepare_revision(revision).html)  # warms the render cache
    results = {"cached": [], "premailer": [], "ratio": [], "ratio_cpu": []}
    per_round = max(1, len(messages) // rounds)
    for index in range(rounds):
        batch = messages[index * per_round : (index + 1) * per_round]
        cached = rates(render_cached, batch, revision)
        slow = rates(render_premailer, batch[:3], page)
        results["cached"].append(cached)
        results["premailer"].append(slow)
        results["ratio"].append(cached[0] / slow[0])
        results["ratio_cpu"].append(cached[1] / slow[1])
    return html_size, results


def start_sink():
    """aiosmtpd's Sink handler in its own process (it must not share our GIL)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        + ["-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the SMTP sink did not start")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def deliver_timed(func, ids):
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    wall, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        func(ids)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(ids) / wall, len(ids) / max(cpu, 1e-9), len(queries) / len(ids)


def deliver_one_by_one(ids):
    from wagtail_flows.emails import delivery as email_delivery

    for pk in ids:  # one task per message, as the engine enqueues them
        email_delivery.deliver_message(pk)


def deliver_to_sink(messages, rounds):
    """Interleaved rounds: a batch over one SMTP connection vs one connection per message."""
    from django.test import override_settings

    from wagtail_flows.emails import delivery as email_delivery

    server, port = start_sink()
    ids = [m.pk for m in messages]
    per_round = max(2, len(ids) // rounds)
    results = {"batch": [], "single": []}
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
        ):
            for index in range(rounds):
                chunk = ids[index * per_round : (index + 1) * per_round]
                half = len(chunk) // 2
                results["batch"].append(deliver_timed(email_delivery.deliver_batch, chunk[:half]))
                results["single"].append(deliver_timed(deliver_one_by_one, chunk[half:]))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def medians(rows, column):
    return median([row[column] for row in rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from wagtail_flows.models import Message

    started = time.perf_counter()
    name = create_database()
    print(f"database ready in {time.perf_counter() - started:.0f} s", flush=True)
    try:
        revision, messages = make_messages(args.messages)
        size, render = render_ratio(revision, messages, args.rounds)
        delivery = deliver_to_sink(messages, args.rounds)
        sent = Message.objects.filter(status="sent").count()
    finally:
        destroy_database(name)
    print("\n=== P3 email ===")
    print(f"database: {database_label()}; {load_line()}")
    print(f"inlined email HTML: {size / 1024:.1f} KB; {args.messages} messages")
    print(f"medians of {args.rounds} interleaved rounds; messages/s wall | per CPU-second:")
    for key, label in (
        ("cached", "personalise, cached inlined page"),
        ("premailer", "personalise, premailer per message"),
    ):
        rows = render[key]
        print(f"  {label}: {medians(rows, 0):.1f} | {medians(rows, 1):.1f}")
    ratio, ratio_cpu = median(render["ratio"]), median(render["ratio_cpu"])
    print(f"  ratio cached / premailer: {ratio:.1f}x wall, {ratio_cpu:.1f}x CPU")
    print(f"  target >= 20x: {'MET' if ratio >= 20 else 'MISSED'}")
    print(f"SMTP sink (aiosmtpd, own process, 127.0.0.1): {sent} of {len(messages)} sent")
    for key, label in (
        ("batch", "deliver_batch, one SMTP connection"),
        ("single", "deliver_message, one connection each"),
    ):
        rows = delivery[key]
        print(
            f"  {label}: {medians(rows, 0):.0f}/s wall | {medians(rows, 1):.0f}/s CPU"
            f" | {medians(rows, 2):.2f} queries/message"
        )
    best = medians(delivery["batch"], 0)
    print(f"  target >= 500/s: {'MET' if best >= 500 else 'MISSED'}")


if __name__ == "__main__":
    main()
