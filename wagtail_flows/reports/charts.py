"""Server-side SVG charts in the Wagtail admin's style: no JavaScript, no CDN.

Colours are the admin's CSS variables, so the charts follow its light and dark themes. Every
chart has a <title> and <desc>, and ``figure()`` adds the same numbers as a visually hidden
table for screen readers.
"""

from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 230
TREND_HEIGHT = 220
PAD = 32

ENROLLED_COLOUR = "var(--w-color-secondary, #007d7e)"
CONVERTED_COLOUR = "var(--w-color-primary, #261a4a)"
TEXT_COLOUR = "var(--w-color-text-context, #262626)"
GRID_COLOUR = "var(--w-color-border-furniture, #e0e0e0)"


def _svg(width, height, title, desc, body, chart_id):
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wf-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'style="max-width: {width}px; font-family: inherit; font-size: 12px">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>{"".join(body)}</svg>'
    )


def _text(x, y, text, anchor="start", weight="normal"):
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-weight="{weight}" '
        f'style="fill: {TEXT_COLOUR}">{escape(text)}</text>'
    )


def _rect(x, y, width, height, colour, label=""):
    tip = f"<title>{escape(label)}</title>" if label else ""
    return (
        f'<rect x="{x}" y="{y}" width="{max(width, 0):.1f}" height="{height}" rx="3" '
        f'style="fill: {colour}">{tip}</rect>'
    )


def funnel_svg(rows, title=None, chart_id="wf-funnel"):
    """Horizontal bars: ``rows`` is [(label, count)] or [(label, count, depth)] (nested
    steps are indented by depth); the first bar is usually the widest."""
    title = gettext("Funnel") if title is None else title
    rows = [(row[0], row[1], row[2] if len(row) > 2 else 0) for row in rows]
    top = max([count for _, count, _d in rows] + [1])
    height = PAD + len(rows) * (BAR_HEIGHT + BAR_GAP)
    span = WIDTH - LABEL_WIDTH - 60
    body = []
    for index, (label, count, depth) in enumerate(rows):
        y = PAD / 2 + index * (BAR_HEIGHT + BAR_GAP)
        width = span * count / top
        room = 34 - 2 * depth
        short = label if len(label) <= room else label[: room - 1] + "…"
        body.append(_text(12 * depth, y + BAR_HEIGHT * 0.7, short))
        body.append(_rect(LABEL_WIDTH, y, width, BAR_HEIGHT, ENROLLED_COLOUR, f"{label}: {count}"))
        body.append(
            _text(LABEL_WIDTH + width + 6, y + BAR_HEIGHT * 0.7, str(count), weight="bold")
        )
    desc = "; ".join(f"{label}: {count}" for label, count, _d in rows) or gettext("No data")
    return _svg(WIDTH, height, title, desc, body, chart_id)


def trend_svg(days, title=None, chart_id="wf-trend"):
    """Side-by-side daily bars of enrollments and conversions: [(date, enrolled, converted)]."""
    title = gettext("Daily trend") if title is None else title
    days = list(days)
    top = max([max(e, c) for _, e, c in days] + [1])
    plot_h = TREND_HEIGHT - 2 * PAD
    slot = (WIDTH - 2 * PAD) / max(len(days), 1)
    bar = max(slot / 2 - 1, 1)
    body = [_axis(top, plot_h)]
    for index, (day, enrolled, converted) in enumerate(days):
        x = PAD + index * slot
        for offset, count, colour, name in (
            (0, enrolled, ENROLLED_COLOUR, gettext("enrolled")),
            (bar, converted, CONVERTED_COLOUR, gettext("converted")),
        ):
            h = plot_h * count / top
            tip = f"{date_format(day, 'd M')}: {count} {name}"
            body.append(_rect(f"{x + offset:.1f}", f"{PAD + plot_h - h:.1f}", bar, h, colour, tip))
    body.extend(_date_labels(days, slot, plot_h))
    body.extend(_legend())
    total_e = sum(e for _, e, _c in days)
    total_c = sum(c for _, _e, c in days)
    if days:
        span = gettext("%(start)s to %(end)s") % {
            "start": date_format(days[0][0], "d M Y"),
            "end": date_format(days[-1][0], "d M Y"),
        }
    else:
        span = gettext("no days")
    desc = gettext("%(span)s: %(enrolled)s enrolled, %(converted)s converted.") % {
        "span": span,
        "enrolled": total_e,
        "converted": total_c,
    }
    return _svg(WIDTH, TREND_HEIGHT, title, desc, body, chart_id)


def _axis(top, plot_h):
    y = PAD + plot_h
    return (
        f'<line x1="{PAD}" y1="{y}" x2="{WIDTH}" y2="{y}" style="stroke: {GRID_COLOUR}"/>'
        + _text(PAD - 4, PAD + 4, str(top), anchor="end")
        + _text(PAD - 4, y, "0", anchor="end")
    )


def _date_labels(days, slot, plot_h):
    if not days:
        return []
    step = max(len(days) // 6, 1)
    return [
        _text(
            f"{PAD + (i + 0.5) * slot:.1f}",
            PAD + plot_h + 16,
            date_format(day, "d M"),
            anchor="middle",
        )
        for i, (day, _e, _c) in enumerate(days)
        if i % step == 0
    ]


def _legend():
    y = 12
    return [
        _rect(PAD, y - 9, 10, 10, ENROLLED_COLOUR),
        _text(PAD + 14, y, gettext("Enrolled")),
        _rect(PAD + 90, y - 9, 10, 10, CONVERTED_COLOUR),
        _text(PAD + 104, y, gettext("Converted")),
    ]


def figure(svg, caption, headers, rows):
    """The chart with a caption and its numbers as a visually hidden table."""
    head = format_html_join("", "<th scope='col'>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html(
        '<figure class="wf-figure">{}<figcaption>{}</figcaption>'
        '<table class="w-sr-only"><caption>{}</caption><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table></figure>",
        mark_safe(svg),  # noqa: S308  built above from escaped parts
        caption,
        caption,
        head,
        body,
    )
