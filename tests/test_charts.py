"""Charts are valid SVG in the admin's colours, with a text equivalent for screen readers."""

import datetime as dt
import xml.etree.ElementTree as ET

from wagtail_flows.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    root = ET.fromstring(svg)  # noqa: S314  our own output
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    return root


def test_the_funnel_has_a_bar_per_step_and_says_its_numbers():
    rows = [("Enrolled", 10), ("Send “Welcome” & <more>", 8), ("Converted", 0)]
    root = parse(charts.funnel_svg(rows, title="Funnel of Welcome"))
    assert root.find(f"{SVG}title").text == "Funnel of Welcome"
    assert root.find(f"{SVG}desc").text == "Enrolled: 10; Send “Welcome” & <more>: 8; Converted: 0"
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 3
    widths = [float(bar.get("width")) for bar in bars]
    assert widths[0] > widths[1] > widths[2] == 0
    assert all("var(--w-color" in bar.get("style") for bar in bars)


def test_nested_steps_are_indented_in_the_funnel():
    root = parse(charts.funnel_svg([("Branch", 4, 0), ("Add tag", 2, 1), ("Deeper", 1, 2)]))
    labels = [t for t in root.iter(f"{SVG}text") if t.get("font-weight") != "bold"]
    assert [float(t.get("x")) for t in labels] == [0, 12, 24]


def test_the_trend_has_two_bars_per_day_and_a_legend():
    start = dt.date(2026, 3, 1)
    days = [(start + dt.timedelta(days=i), i, i // 2) for i in range(10)]
    root = parse(charts.trend_svg(days))
    assert len(root.findall(f"{SVG}rect")) == 2 * 10 + 2  # bars + legend swatches
    desc = root.find(f"{SVG}desc").text
    assert desc == "01 Mar 2026 to 10 Mar 2026: 45 enrolled, 20 converted."
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Enrolled" in texts and "Converted" in texts


def test_empty_charts_still_render():
    parse(charts.funnel_svg([]))
    parse(charts.trend_svg([]))


def test_a_figure_carries_a_visually_hidden_table_of_the_numbers():
    svg = charts.funnel_svg([("Enrolled", 3)])
    html = str(charts.figure(svg, "Contacts", ["Step", "Contacts"], [("Enrolled <b>", 3)]))
    root = ET.fromstring(html)  # noqa: S314
    table = root.find("table")
    assert table.get("class") == "w-sr-only"
    assert [th.text for th in table.iter("th")] == ["Step", "Contacts"]
    assert [td.text for td in table.iter("td")] == ["Enrolled <b>", "3"]
    assert root.find(f"{SVG}svg") is not None
