"""The review app on a phone (issue 21): no sideways scroll, every button and set link tappable.

Drives Debian's chromium through Playwright (like ``test_review_browser.py``) at 390x844 and at
1280x800 on the sets list and a set page. Saves screenshots to ``test-artifacts/`` (and, with
``FORMCHECK_UPDATE_DOCS_IMG=1``, to ``docs/img/review-{390,1280}-{sets,set}.png``).
"""

from __future__ import annotations

import os
import shutil

import pytest

from test_review_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, serving, wait_js

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is not installed (apt-get install -y chromium)",
    ),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two synthetic sets (one with a video and flagged reps, one bridge without a video)."""
    from formcheck.core.synthetic import SynthRep
    from formcheck.review.app import create_app
    from formcheck.review.security import LOOPBACK_NAMES
    from formcheck.review.store import open_store
    from test_review import make_result

    root = tmp_path_factory.mktemp("runs")
    make_result(root / "a-rather-long-athlete-name", "2026-12-07_hip_thrust_heavy_set_1")
    make_result(
        root / "bob", "set2", reps=[SynthRep(), SynthRep()], video=False, exercise="glute_bridge"
    )
    store = open_store(root)
    store.import_dir(root)
    app = create_app(store, reviewer="Coach Phone", allowed_hosts=list(LOOPBACK_NAMES))
    with serving(app) as base:
        yield base, store


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _flagged_set(store) -> int:
    for s in store.list_sets():
        if any(r["faults"] for r in store.reps(s["id"])):
            return s["id"]
    raise AssertionError("the test needs a set with a flagged rep")


def _scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _check_tappable(page, selector: str, viewport: dict) -> int:
    """Every visible match of ``selector``: scrolled into view, its box inside the viewport
    horizontally, and a trial click lands on it (not covered by e.g. a sticky player)."""
    loc = page.locator(selector)
    n = loc.count()
    for i in range(n):
        el = loc.nth(i)
        el.scroll_into_view_if_needed()
        assert page.evaluate("window.scrollX") == 0, f"{selector} #{i} needs a sideways scroll"
        box = el.bounding_box()
        assert box is not None, f"{selector} #{i} is not rendered"
        assert box["width"] > 0 and box["height"] > 0, f"{selector} #{i} has no size"
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5, (
            f"{selector} #{i} ({el.inner_text()!r}) is cut off: {box}"
        )
        el.click(trial=True, timeout=3000)
    return n


def _shot(page, name: str, full_page: bool = False) -> None:
    shot = ROOT / "test-artifacts" / f"{name}.png"
    shot.parent.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shot), full_page=full_page)
    if os.environ.get("FORMCHECK_UPDATE_DOCS_IMG") == "1":
        img = ROOT / "docs" / "img" / f"{name}.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, img)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_no_sideways_scroll_and_all_tappable(server, browser, viewport):
    base, store = server
    set_id = _flagged_set(store)
    w = viewport["width"]
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # the sets list
        page.goto(base + "/")
        sw = _scroll_width(page)
        print(f"\n{w} px sets list: scrollWidth {sw}")
        assert sw <= w, f"the sets list scrolls sideways at {w} px: scrollWidth {sw}"
        table = page.locator("table.sets").bounding_box()
        assert table is not None and table["width"] <= w, f"sets table is {table} wide"
        assert _check_tappable(page, "table.sets a", viewport) >= 2
        _check_tappable(page, "main button, header input", viewport)
        _shot(page, f"review-{w}-sets")

        # a set link taps through to its page
        page.evaluate("window.scrollTo(0, 0)")
        page.locator(f'table.sets a[href="/sets/{set_id}"]').click()
        page.wait_for_url(f"**/sets/{set_id}")
        wait_js(page, "() => document.querySelector('.rep-findings') !== null")
        sw = _scroll_width(page)
        print(f"{w} px set page: scrollWidth {sw}")
        assert sw <= w, f"the set page scrolls sideways at {w} px: scrollWidth {sw}"
        n = _check_tappable(page, "main button", viewport)
        assert n >= 5
        _check_tappable(page, "main .exports a, header a", viewport)
        unsure = page.locator('button[data-verdict="unsure"]')
        assert unsure.count() >= 1
        if w < 700:  # the player scrolls away with the page instead of covering the reps
            pos = page.evaluate("getComputedStyle(document.querySelector('.player')).position")
            assert pos != "sticky"
        _shot(page, f"review-{w}-set", full_page=w < 700)  # on a phone: down to the findings
        assert not errors, errors
    finally:
        page.close()
