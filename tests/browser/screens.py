"""Helpers the browser walks share: documentation screenshots and a visit that reports what
a person would meet (the status, where they ended up)."""

import os
import pathlib

DOCS_IMG = pathlib.Path(__file__).resolve().parents[2] / "docs" / "img"
SCREENSHOT_WIDTH = 1400


def refreshing_screenshots():
    """``FLOWS_SCREENSHOTS=1`` rewrites docs/img; CI and everyday runs leave the docs alone."""
    return os.environ.get("FLOWS_SCREENSHOTS") == "1"


def doc_screenshot(page, name, height=1000, full_page=True):
    """Write docs/img/``name`` (1400 px wide) from ``page`` when screenshots are refreshed.

    The admin scrolls inside <main>, so a full-page shot of a long screen needs a tall
    viewport: ``height`` sets it for the shot, and the viewport is put back afterwards."""
    if not refreshing_screenshots():
        return None
    before = page.viewport_size
    page.set_viewport_size({"width": SCREENSHOT_WIDTH, "height": height})
    page.wait_for_load_state("networkidle")
    path = DOCS_IMG / name
    page.screenshot(path=str(path), full_page=full_page)
    page.set_viewport_size(before)
    return path
