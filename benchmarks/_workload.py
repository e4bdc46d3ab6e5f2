"""The engine workload of P2 and P5: a 5-step flow and N contacts due in it.

The flow: add tag → wait 0 (instant) → branch on score → send email → change score. Every
contact takes the same path (score 0: the branch's "no" side is empty), so each enrollment
runs 5 steps and sends one email. Contacts and their enrollments are inserted in bulk, as
due at ``now`` (what ``enroll(…, enqueue=False)`` leaves for the sweep): set-up, not measured.
"""

from _common import insert_rows

FIVE_STEPS = 5


def five_step_flow(name="Bench flow"):
    from tests.factories import make_email_page
    from tests.test_engine_tree import branch, make_flow, score_at_least, step, tag, wait

    page = make_email_page(subject="Hello {{ contact.first_name }}")
    return make_flow(
        [
            tag("bench", "s1"),
            wait("s2", amount=0, unit="minutes"),
            branch("s3", [score_at_least(10)]),
            step("send_email", "s4", page=page.pk),
            step("change_score", "s5", delta=5),
        ],
        name=name,
    )


def add_due(flow, count, now, prefix):
    """``count`` subscribed contacts (emails ``<prefix><n>@example.com``), each with an
    enrollment in ``flow`` due at ``now``."""
    from wagtail_flows.models import Contact, Enrollment

    insert_rows(
        Contact,
        count,
        columns={"email": f"'{prefix}' || g || '@example.com'"},
        first_name="Bench",
        status="subscribed",
        consent_at=now,
        created_at=now,
        last_activity_at=now,
    )
    return insert_rows(
        Enrollment,
        columns={"contact_id": "c.id"},
        source="FROM wagtail_flows_contact c WHERE c.email LIKE %s",
        params=[f"{prefix}%"],
        flow=flow,
        status="active",
        next_run_at=now,
        enrolled_at=now,
    )


def progress(flow):
    """(open enrollments, step runs, messages sent) of ``flow``."""
    from wagtail_flows.models import Enrollment, Message, StepRun
    from wagtail_flows.models.enrollments import OPEN_STATUSES

    return (
        Enrollment.objects.filter(flow=flow, status__in=OPEN_STATUSES).count(),
        StepRun.objects.filter(enrollment__flow=flow).count(),
        Message.objects.filter(flow=flow, status="sent").count(),
    )
