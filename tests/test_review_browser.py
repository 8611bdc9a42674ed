"""End-to-end test of the review app in a real browser: Debian's chromium driven by Playwright.

Opens a set, plays to a flagged rep, overrules it with a note, reloads and checks the verdict
persisted. Saves a screenshot to ``test-artifacts/review.png`` (and, with
``FORMCHECK_UPDATE_DOCS_IMG=1``, to ``docs/img/review.png`` for the README).
Uses a real sample video (``samples/*.mp4``) when one is present and gives flagged reps,
otherwise a synthetic set.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ("ht_faults_right.mp4", "demo_hip_thrust.mp4")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is not installed (apt-get install -y chromium)",
    ),
]


#: Chromium's flags for every browser test (headless, no sandbox as root, no network chatter).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app):
    """Run the ASGI ``app`` on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not srv.started:
        assert time.time() < deadline and th.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(10)


def _sample_result(out: Path) -> Path | None:
    """Analyse the first usable sample video into ``out``; None if there is none."""
    from formcheck.analysis import analyze_video
    from formcheck.errors import FormcheckError
    from formcheck.sinks.files import write_outputs

    for name in SAMPLES:
        video = ROOT / "samples" / name
        if not video.is_file() or video.stat().st_size < 10_000:
            continue
        try:
            a = analyze_video(video)
            write_outputs(a, out / "sample-athlete", video_path=video, stem=video.stem)
        except FormcheckError as exc:  # e.g. no pose model here: use the synthetic set
            warnings.warn(f"sample {name} not usable, using a synthetic set: {exc}", stacklevel=2)
            continue
        if any(r.faults for r in a.session.reps):
            return out / "sample-athlete" / f"{video.stem}.json"
    return None


def wait_js(page, expr: str, arg=None, timeout: float = 30.0):
    """Poll ``page.evaluate(expr, arg)`` until truthy. (``page.wait_for_function`` evaluates
    strings in the page, which the app's Content-Security-Policy rightly forbids.)"""
    deadline = time.time() + timeout
    while True:
        value = page.evaluate(expr, arg)
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for: {expr}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):

    from formcheck.review.app import create_app
    from formcheck.review.security import LOOPBACK_NAMES
    from formcheck.review.store import open_store

    root = tmp_path_factory.mktemp("runs")
    jp = _sample_result(root)
    if jp is None:
        from test_review import make_result

        jp = make_result(root / "synthetic-athlete", "set1")
    store = open_store(root)
    store.import_dir(root)
    app = create_app(store, reviewer="Coach Browser", allowed_hosts=list(LOOPBACK_NAMES))
    with serving(app) as base:
        yield base, store, jp


def test_review_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    base, store, jp = server
    set_id = store.list_sets()[0]["id"]
    flagged = [r for r in store.reps(set_id) if r["faults"]]
    assert flagged, "the test set needs a flagged rep"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/")
            page.click(f'a[href="/sets/{set_id}"]')
            page.wait_for_url(f"**/sets/{set_id}")
            wait_js(page, "() => document.getElementById('video').readyState >= 2", None, 120)
            duration = page.evaluate("document.getElementById('video').duration")
            assert duration > 1

            # play to the first flagged rep and loop it
            page.check("#loop")
            page.click("#next-flagged")
            rep = flagged[0]
            wait_js(
                page,
                "([a, b]) => { const v = document.getElementById('video');"
                " return !v.paused && v.currentTime > a && v.currentTime < b; }",
                [rep["start_s"] + 0.05, rep["end_s"]],
            )
            expect(page.locator(f'tr.rep-row.current[data-rep="{rep["idx"]}"]')).to_be_visible()

            # overrule the rep's first finding with a note
            card = page.locator(f'.rep-findings[data-rep="{rep["idx"]}"] .finding').first
            fid = int(card.get_attribute("data-finding"))
            card.locator('button[data-verdict="overrule"]').click()
            expect(card.locator(".saved")).to_contain_text("saved", timeout=10_000)
            note = "Hips looked level to me <b>keep going</b>"
            card.locator("textarea.note").fill(note)
            card.locator("textarea.note").blur()
            wait_js(
                page,
                "id => fetch('/api/sets/' + id).then(r => r.json()).then(d => "
                "d.findings.some(f => f.note && f.note.startsWith('Hips looked level')))",
                set_id,
                10,
            )

            # reload: the verdict and the note persisted
            page.reload()
            card = page.locator(f'.finding[data-finding="{fid}"]')
            expect(card.locator('button[data-verdict="overrule"]')).to_have_class(
                "verdict-btn v-overrule selected"
            )
            expect(card.locator("textarea.note")).to_have_value(note)
            expect(card.locator(".saved")).to_contain_text("Coach Browser")
            latest = next(f for f in store.findings(set_id) if f["id"] == fid)
            assert latest["verdict"] == "overrule" and latest["note"] == note

            # screenshot with the player at the flagged rep
            wait_js(page, "() => document.getElementById('video').readyState >= 2")
            page.evaluate(f"document.getElementById('video').currentTime = {rep['start_s'] + 0.8}")
            card.scroll_into_view_if_needed()
            page.wait_for_timeout(600)
            shot = ROOT / "test-artifacts" / "review.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot), full_page=False)
            if os.environ.get("FORMCHECK_UPDATE_DOCS_IMG") == "1":  # refresh the README image
                img = ROOT / "docs" / "img" / "review.png"
                img.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, img)
            assert not errors, errors
        finally:
            browser.close()
