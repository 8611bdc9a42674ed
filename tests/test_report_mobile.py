"""The HTML report on a phone (issue 21, item 3): no sideways scroll, clean reps summarised once,
plain words for the lifter (numbers kept in a ``<details>`` block).

The browser test drives Debian's chromium through Playwright (like ``test_review_browser.py``)
at 360x740, 390x844 and 1280x800 and saves screenshots to ``test-artifacts/`` (and, with
``FORMCHECK_UPDATE_DOCS_IMG=1``, to ``docs/img/report-{390,1280}.png``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from formcheck.core.synthetic import SynthRep
from formcheck.sinks.report import clean_summary, heel_words, write_report
from test_report import _analyse
from test_review_browser import CHROMIUM, CHROMIUM_ARGS, ROOT

VIEWPORTS = [
    {"width": 360, "height": 740},
    {"width": 390, "height": 844},
    {"width": 1280, "height": 800},
]
#: clean, sag, clean, short hold + fast lowering, clean, clean
MIXED = [
    SynthRep(),
    SynthRep(peak_deg=160),
    SynthRep(),
    SynthRep(hold_s=0.5, lower_s=0.8),
    SynthRep(),
    SynthRep(),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Six synthetic reps, with the figures that confused lifters: a heel that "rose" -0.4 cm
    and an outline arch 2.9° under the set's baseline (what a real side-on video gives)."""
    session, jp = _analyse(tmp_path_factory.mktemp("mixed"), name="mixed", reps=MIXED)
    for r in session.reps:
        r.heel_rise_m = -0.004
        r.lumbar.silhouette_deg = 12.3
        r.lumbar.silhouette_set_baseline_deg = 15.2
        r.lumbar.silhouette_measure = "back"
    return session, jp


def _lifter_text(html: str) -> str:
    """The visible text outside the ``<details>`` blocks (and outside tags and styles)."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    html = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_clean_summary_ranges():
    assert clean_summary([1, 2, 3, 4, 6, 7, 8, 9, 10]) == "Reps 1–4, 6–10: clean"
    assert clean_summary([1]) == "Rep 1: clean"
    assert clean_summary([2, 4]) == "Reps 2, 4: clean"
    assert clean_summary([]) == ""


def test_clean_reps_summarised_once(mixed, tmp_path):
    session, jp = mixed
    assert [bool(r.findings) for r in session.reps] == [False, True, False, True, False, False]
    html = write_report(session, tmp_path / "r.html", base_dir=jp.parent).read_text("utf-8")
    text = _lifter_text(html)
    assert text.count("Reps 1, 3, 5–6: clean") == 1
    assert "Clean rep." not in html
    cards = re.findall(r'<div class="card (?:bad|ok)" id="rep-(\d+)"', html)
    assert cards == ["2", "4"]  # cards only for reps with findings
    # heel: plain words, no negative or tiny figure outside the details
    assert "-0." not in text and "−0." not in text
    assert "Heel rise" in text and "flat" in text
    assert "over your own baseline" not in text and "as usual for you" in text
    # the numbers are kept, in the <details> blocks
    assert "-0.4 cm" in html and "(-2.9° over your own baseline)" in html


def test_heel_words():
    assert heel_words(-0.004) == heel_words(0.005) == "flat"
    assert heel_words(0.012) == "up 1.2 cm"
    assert heel_words(None) == "–"


@pytest.mark.slow
@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install -y chromium)",
)
def test_report_fits_every_width(mixed, tmp_path):
    from playwright.sync_api import sync_playwright

    session, jp = mixed
    html = write_report(session, tmp_path / "r.html", base_dir=jp.parent)
    art = ROOT / "test-artifacts"
    art.mkdir(exist_ok=True)
    docs = os.environ.get("FORMCHECK_UPDATE_DOCS_IMG") == "1"
    widths = {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            for vp in VIEWPORTS:
                page = b.new_page(viewport=vp)
                page.goto(Path(html).as_uri())
                w = vp["width"]
                sw = page.evaluate("document.documentElement.scrollWidth")
                shot = art / f"report-{w}.png"
                page.screenshot(path=str(shot), full_page=True)
                if docs and w in (390, 1280):
                    page.screenshot(path=str(ROOT / "docs" / "img" / shot.name), full_page=True)
                # and with every "Numbers and limits" block open
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
                sw_open = page.evaluate("document.documentElement.scrollWidth")
                page.screenshot(path=str(art / f"report-{w}-details.png"), full_page=True)
                widths[w] = (sw, sw_open)
                page.close()
        finally:
            b.close()
    print("scrollWidths", widths)
    for w, (sw, sw_open) in widths.items():
        assert sw <= w, f"sideways scroll at {w} px: scrollWidth {sw}"
        assert sw_open <= w, f"sideways scroll at {w} px, details open: scrollWidth {sw_open}"
