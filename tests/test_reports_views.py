"""The marketer's admin screens for reports: the report tab and page, exports, the flows
summary, the home-page dashboard and the flow tester (which writes and sends nothing)."""

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_email_page
from tests.test_reports import build_history, step
from wagtail_flows.models import Contact, Enrollment, Event, Flow, Message, StepRun
from wagtail_flows.panels.report import FlowReportPanel

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    return build_history()


def url(name, *args):
    return reverse(f"wagtail_flows_reports:{name}", args=args)


@pytest.fixture
def viewer(db):
    return make_staff_user("viewer", "view_flow")


@pytest.fixture
def outsider(db):
    """Has admin access but no permission on flows."""
    return make_staff_user("outsider")


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


# --- the report tab and page ---------------------------------------------------------------


def render_panel(flow, query=""):
    request = RequestFactory().get(f"/admin/flows/edit/{flow.pk}/{query}")
    request.user = User(is_superuser=True)
    panel = FlowReportPanel().bind_to_model(Flow)
    return panel.get_bound_panel(instance=flow, request=request, form=None).render_html()


def test_the_report_panel_shows_totals_steps_ab_results_and_charts(history):
    html = re.sub(r"\s+", " ", render_panel(history.flow))
    assert 'data-figure="enrolled">5<' in html
    assert 'data-figure="conversion-rate">20.0 %<' in html
    assert 'data-figure="revenue">120.00<' in html
    assert 'data-figure="sent">4<' in html and "(75.0 %)" in html
    assert "A/B results:" in html and "Not enough data yet." in html
    assert html.count("<svg") == 2 and 'class="w-sr-only"' in html
    assert 'href="?range=7#tab-report"' in html


def test_the_panel_follows_the_date_range_in_the_address(history):
    html = re.sub(r"\s+", " ", render_panel(history.flow, "?range=all"))
    assert 'data-figure="enrolled">6<' in html


def test_the_report_page_offers_a_custom_range(admin_client, history):
    old = (history.now - dt.timedelta(days=60)).date().isoformat()
    response = admin_client.get(
        url("report", history.flow.pk), {"range": "custom", "from": old, "to": old}
    )
    assert response.status_code == 200
    body = text(response)
    assert 'data-figure="enrolled">1<' in body
    assert 'type="date"' in body and f'value="{old}"' in body


# --- exports ----------------------------------------------------------------------------


def test_the_report_exports_as_csv_with_totals_and_a_row_per_step(admin_client, history):
    response = admin_client.get(url("export", history.flow.pk), {"export": "csv", "range": "30"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="welcome-series-report.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Where",
        "Step",
        "Type",
        "Entered",
        "Waiting here",
        "Completed",
        "Failed",
        "Exited here",
        "Unsubscribed here",
        "Converted here",
        "Sent",
        "Opened",
        "Open rate %",
        "Clicked",
        "Click rate %",
        "Unsubscribed",
        "Unsubscribe rate %",
        "Goal reached",
        "Goal rate %",
        "Orders after a click",
        "Revenue after a click",
    ]
    totals = {row[1]: row[3] for row in rows[1:7]}
    assert totals == {
        "Enrolled": "5",
        "Converted": "1",
        "Completed": "1",
        "Exited": "0",
        "Conversion rate %": "20.0",
        "Revenue attributed": "120.00",
    }
    email, wait = rows[7], rows[8]
    assert email[2:] == [
        "send_email",
        "5",
        "0",
        "5",
        "0",
        "0",
        "0",
        "0",
        "4",
        "3",
        "75.0",
        "2",
        "50.0",
        "1",
        "25.0",
        "1",
        "25.0",
        "2",
        "70.00",
    ]
    assert wait[0] == "Main path" and wait[2:7] == ["wait", "5", "1", "4", "0"]
    assert wait[10:] == [""] * 11
    assert len(rows) == 1 + 6 + 8


def test_the_report_exports_as_xlsx(admin_client, history):
    from openpyxl import load_workbook

    response = admin_client.get(url("export", history.flow.pk), {"export": "xlsx", "range": "all"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.values)
    assert rows[0][:4] == ("Where", "Step", "Type", "Entered")
    assert rows[1][1:4] == ("Enrolled", "total", 6)
    assert len(rows) == 15


def test_an_unknown_export_format_is_a_404(admin_client, history):
    assert admin_client.get(url("export", history.flow.pk), {"export": "pdf"}).status_code == 404


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["summary", "report", "export", "tester"])
def test_users_without_flow_permission_are_refused(client, outsider, name):
    flow = Flow.objects.create(name="Secret")
    args = () if name == "summary" else (flow.pk,)
    response = client.get(url(name, *args))
    assert response.status_code == 302 and "/login/" in response.url  # anonymous
    client.force_login(outsider)
    response = client.get(url(name, *args))
    # Wagtail's admin turns PermissionDenied into a redirect to the dashboard with a message.
    assert (response.status_code, response.get("Location")) == (302, "/admin/")


def test_a_user_who_may_view_flows_sees_the_summary(client, viewer, history):
    client.force_login(viewer)
    response = client.get(url("summary"))
    assert response.status_code == 200
    body = text(response)
    row = re.search(rf'<tr data-flow="{history.flow.pk}">(.*?)</tr>', body).group(1)
    numbers = re.findall(r'<td class="wf-num">([^<]*)</td>', row)
    # enrolled (all time), in the flow now, converted, rate, emails sent, failed
    assert numbers == ["6", "2", "1", "16.7 %", "6", "1"]


def test_the_summary_is_in_the_reports_menu_for_those_who_may_view_flows(client, viewer, outsider):
    client.force_login(viewer)
    assert url("summary") in client.get("/admin/").content.decode()
    client.force_login(outsider)
    assert url("summary") not in client.get("/admin/").content.decode()


def test_the_summary_takes_one_query_for_all_flows(
    admin_client, history, django_assert_max_num_queries
):
    from wagtail_flows.reports.views import flows_with_figures

    Flow.objects.create(name="Another")
    with django_assert_max_num_queries(1):
        flows = list(flows_with_figures())
    assert [f.name for f in flows] == ["Another", "Welcome series"]


# --- dashboard ---------------------------------------------------------------------------


def test_the_admin_home_shows_the_flows_dashboard(admin_client, history):
    Enrollment.objects.filter(pk=Enrollment.objects.first().pk).update(enrolled_at=timezone.now())
    body = text(admin_client.get("/admin/"))
    assert 'id="wagtail-flows-dashboard' in body or "wagtail-flows-dashboard" in body
    assert 'data-figure="live">1<' in body
    assert 'data-figure="enrolled-today">1<' in body
    # sent in the last 7 days: the six messages of history less c4's failed and c6's old one
    assert 'data-figure="sent">5<' in body
    assert 'data-figure="opened">3<' in body and 'data-figure="clicked">3<' in body
    assert "Flows with failures in the last 7 days:" in body and "Welcome series" in body


def test_the_dashboard_is_not_shown_without_flow_permission(client, outsider):
    client.force_login(outsider)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "wagtail-flows-dashboard" not in response.content.decode()


# --- the flow tester ----------------------------------------------------------------------


@pytest.fixture
def tested_flow():
    page = make_email_page("Welcome", subject="Welcome, {{ contact.first_name }}")
    flow = Flow(name="Tester flow", status="live")
    flow.steps = [
        step("send_email", "hello", page=page.pk, subject_override=""),
        step("wait", "pause", amount=2, unit="days"),
        step(
            "branch",
            "ordered",
            conditions=[{"type": "has_ordered", "value": {}, "id": "c"}],
            match="all",
            yes=[step("add_tag", "buyer", tag="buyer")],
            no=[step("add_tag", "browser", tag="browser")],
        ),
    ]
    flow.save()
    return flow


def counts():
    return [m.objects.count() for m in (Contact, Enrollment, StepRun, Message, Event)]


def test_the_tester_shows_the_path_and_writes_and_sends_nothing(admin_client, tested_flow):
    ann = ContactFactory(email="ann@example.com", first_name="Ann")
    before = counts()
    response = admin_client.get(
        url("tester", tested_flow.pk),
        {
            "run": "1",
            "email": "ANN@example.com",
            "kind_0": "order_placed",
            "after_0": "1",
            "unit_0": "days",
            "value_0": "25",
        },
    )
    assert response.status_code == 200
    assert counts() == before
    assert mail.outbox == []
    body = text(response)
    assert "The path of ann@example.com" in body
    labels = re.findall(r'<li data-step-type="([a-z_]+)"', body)
    assert labels[:2] == ["send_email", "wait"]
    assert "event" in labels
    assert "Would send: “Welcome, Ann”" in body
    preview = re.search(r'href="([^"]+/test/hello/\?contact=\d+)"', body).group(1)
    rendered = admin_client.get(preview.replace("&amp;", "&"))
    assert rendered.status_code == 200 and "Ann" in rendered.content.decode()
    assert counts() == before and mail.outbox == [] and ann.pk


def test_the_tester_runs_a_sample_contact_when_no_email_is_given(admin_client, tested_flow):
    before = counts()
    body = text(admin_client.get(url("tester", tested_flow.pk), {"run": "1"}))
    assert "The path of a sample contact" in body
    assert '<ol class="wf-timeline">' in body
    assert counts() == before and mail.outbox == []


def test_the_tester_form_alone_runs_nothing(admin_client, tested_flow):
    body = text(admin_client.get(url("tester", tested_flow.pk)))
    assert "Run the test" in body and '<ol class="wf-timeline">' not in body


def test_the_tester_names_a_bad_delay_or_value_and_runs_nothing(admin_client, tested_flow):
    before = counts()
    response = admin_client.get(
        url("tester", tested_flow.pk),
        {
            "run": "1",
            **{"kind_0": "order_placed", "after_0": "1e308", "unit_0": "weeks"},
            **{"kind_1": "order_placed", "after_1": "2", "value_1": "99999999999"},
        },
    )
    assert response.status_code == 200
    body = text(response)
    assert "after: A delay from 0 to 3660 days." in body
    assert "value: The value is out of range." in body
    assert '<ol class="wf-timeline">' not in body
    assert counts() == before


def test_the_testers_path_is_the_path_the_engine_takes(admin_client, tested_flow):
    from wagtail_flows.engine.advance import advance_enrollment
    from wagtail_flows.engine.dispatch import enroll

    ContactFactory(email="bo@example.com")
    body = text(
        admin_client.get(url("tester", tested_flow.pk), {"run": "1", "email": "bo@example.com"})
    )
    shown = [s for s in re.findall(r'<li data-step-type="[a-z_]+" data-step="([^"]*)"', body) if s]
    tester_path = [s for i, s in enumerate(shown) if i == 0 or shown[i - 1] != s]

    enrollment = enroll(tested_flow, Contact.objects.get(email="bo@example.com"))
    now = timezone.now()
    for _ in range(10):
        advance_enrollment(enrollment.pk, now=now)
        enrollment.refresh_from_db()
        if not enrollment.is_open:
            break
        now = max(now, enrollment.next_run_at)
    engine_path = list(
        StepRun.objects.filter(enrollment=enrollment)
        .order_by("pk")
        .values_list("step_id", flat=True)
    )
    assert engine_path == ["hello", "pause", "ordered", "browser"]
    assert tester_path == engine_path


def test_the_report_panel_renders_inside_the_flows_tabbed_edit_form(history):
    from wagtail.admin.panels import ObjectList, TabbedInterface

    handler = TabbedInterface([ObjectList([FlowReportPanel()], heading="Report")]).bind_to_model(
        Flow
    )
    request = RequestFactory().get("/admin/flows/edit/1/", {"range": "all"})
    request.user = User(is_superuser=True)
    form = handler.get_form_class()(instance=history.flow, for_user=request.user)
    html = handler.get_bound_panel(instance=history.flow, request=request, form=form).render_html()
    assert 'id="tab-report"' in html
    assert 'data-figure="enrolled">6<' in re.sub(r"\s+", " ", html)
    assert "<form" not in html  # no form nested in the edit form


def test_the_report_panel_is_hidden_while_a_flow_is_being_created():
    request = RequestFactory().get("/admin/flows/create/")
    request.user = User(is_superuser=True)
    panel = FlowReportPanel().bind_to_model(Flow)
    assert not panel.get_bound_panel(instance=Flow(), request=request, form=None).is_shown()


@pytest.mark.django_db
def test_the_tester_takes_a_contact_already_in_the_flow_from_where_they_are(admin_client):
    from tests.test_engine_tree import T0, make_flow, run, start, step, wait

    page = make_email_page("Hello")
    flow = make_flow([step("send_email", "hello", page=page.pk), wait("w", amount=1)])
    ann = ContactFactory(email="ann@example.com")
    run(start(flow, ann, now=T0), T0)

    response = admin_client.get(
        f"/admin/flows/reports/{flow.pk}/test/", {"email": "ann@example.com", "run": "1"}
    )

    text = " ".join(response.content.decode().split())
    assert "Now here (already in the flow):</em> <strong>Wait 1 day</strong>" in text
    assert "Would send:" not in text


def test_revenue_shows_the_sites_currency(admin_client, history, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "CURRENCY": "EUR"}

    page = admin_client.get(url("report", history.flow.pk), {"range": "30"}).content.decode()
    export = admin_client.get(url("export", history.flow.pk), {"export": "csv", "range": "30"})

    assert '<span class="wf-kpi__unit" data-figure="currency">EUR</span>' in page
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert ["Revenue attributed (EUR)", "120.00"] in [[row[1], row[3]] for row in rows]
    assert rows[0][-1] == "Revenue after a click (EUR)"
    assert "Revenue after a click (EUR)" in page


def test_each_email_shows_the_revenue_of_orders_after_a_click_on_it(admin_client, history):
    page = admin_client.get(url("report", history.flow.pk), {"range": "30"}).content.decode()

    first = page.split('<tr data-step="email1">')[1].split("</tr>")[0]
    second = page.split('<tr data-step="n_email">')[1].split("</tr>")[0]
    cell = '<td class="wf-num" data-figure="revenue">'
    assert f'{cell}70.00 <span class="wf-rate">(2 orders)' in first
    assert f'{cell}50.00 <span class="wf-rate">(1 order)' in second
